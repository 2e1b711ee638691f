package main

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ServicesArgs wires the application tier to the network, storage and data tiers.
type ServicesArgs struct {
	Account awsAccount
	Prefix  string
	// Environment is the stage's name, which every container gets as ENVIRONMENT.
	Environment string
	// Services are the services, each with its role, sizes, port, image tag and secrets.
	Services []ServiceConfig
	// ClusterName names the ECS cluster; ContainerInsights turns on its Container Insights.
	ClusterName       string
	ContainerInsights bool
	// Routing is the load balancer's TLS, domain, draining and health-check grace.
	Routing RoutingConfig
	// CPUArchitecture and FargateSpot choose the tasks' CPU and capacity.
	CPUArchitecture string
	FargateSpot     bool
	// LogRetentionDays keeps the services' and the ECS Exec sessions' logs.
	LogRetentionDays int
	// Protect and SecretRecoveryDays guard the secrets the program declares for services.
	Protect            bool
	SecretRecoveryDays int
	// Alarms are the thresholds of the services' deployment alarms; AlarmTopicArn is what
	// those alarms notify.
	Alarms        AlarmThresholds
	AlarmTopicArn pulumi.StringInput

	VpcID              pulumi.StringInput
	PublicSubnetIDs    pulumi.StringArrayInput
	PrivateSubnetIDs   pulumi.StringArrayInput
	AlbSecurityGroupID pulumi.StringInput
	// SecurityGroupIDs are the services' security groups, by service.
	SecurityGroupIDs map[string]pulumi.StringOutput

	// LogsBucketName receives the load balancer's access logs.
	LogsBucketName pulumi.StringInput
	// UploadsBucketName and UploadsBucketArn are the object store of the data-tier services.
	UploadsBucketName pulumi.StringInput
	UploadsBucketArn  pulumi.StringInput
	// KeyArn decrypts the secrets and the uploads.
	KeyArn pulumi.StringInput
	// Copies, when set, replicates the secrets the program declares into the DR region.
	Copies *RegionCopies
	// Repositories hold the services' images, by service.
	Repositories map[string]Repository
	// DataTier is the database and the cache, as the data-tier services reach them.
	DataTier DataTier
}

// Services is the ECS cluster and the services behind the load balancer.
type Services struct {
	pulumi.ResourceState

	// URL is where users reach the application; AlbDNSName the load balancer's own name.
	URL        pulumi.StringOutput
	AlbDNSName pulumi.StringOutput
	// AlbArn is the load balancer's ARN, for its web ACL; AlbArnSuffix the LoadBalancer
	// dimension of its metrics.
	AlbArn       pulumi.StringOutput
	AlbArnSuffix pulumi.StringOutput
	ClusterName  pulumi.StringOutput
	// Refs are the services, in the order of ServicesArgs.Services.
	Refs []ServiceRef
	// SecretArns are the secrets declared for each service's ManagedSecrets, by service and
	// variable.
	SecretArns map[string]pulumi.StringMap
	// LogGroups are the services' log groups ("backend", "frontend", once released) and "exec".
	LogGroups pulumi.StringMap
	// RedeployArns are the state machines that roll a released service when a secret it reads
	// changes, by service.
	RedeployArns map[string]pulumi.StringOutput
}

// ServiceRef is what autoscaling, the alarms and the outputs need of one service.
type ServiceRef struct {
	// Key is the service's name in config ("backend").
	Key string
	// Deployed is false until the service's image tag is set: then there is no task
	// definition, service, scaling or alarm of it yet, only its target group.
	Deployed bool
	// Name is the ECS service's name; LogGroup its log group; TaskDefinitionArn what it runs.
	Name              pulumi.StringOutput
	Arn               pulumi.StringOutput
	LogGroup          pulumi.StringOutput
	TaskDefinitionArn pulumi.StringOutput
	// TargetGroupArnSuffix is the TargetGroup dimension of the target group's metrics.
	// It is nil for a worker.
	TargetGroupArnSuffix pulumi.StringInput
	// resource is the ECS service, for what must wait for it; alarmNames its deployment
	// alarms, which the redeploy after a rotation suspends and restores.
	resource   pulumi.Resource
	alarmNames pulumi.StringArray
}

// NewServices creates the cluster, the load balancer, and every service.
func NewServices(ctx *pulumi.Context, name string, args *ServicesArgs, opts ...pulumi.ResourceOption) (*Services, error) {
	s := &Services{LogGroups: pulumi.StringMap{}, SecretArns: map[string]pulumi.StringMap{}, RedeployArns: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("coldchain:index:Services", name, s, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(s)

	front, err := newFrontDoor(ctx, frontDoorArgs{
		Routing: args.Routing, Services: args.Services, VpcID: args.VpcID, PublicSubnetIDs: args.PublicSubnetIDs,
		AlbSecurityGroupID: args.AlbSecurityGroupID, LogsBucketName: args.LogsBucketName,
	}, s)
	if err != nil {
		return nil, err
	}
	s.URL, s.AlbDNSName, s.AlbArn, s.AlbArnSuffix = front.url, front.dnsName, front.arn, front.arnSuffix

	execLogs, err := cloudwatch.NewLogGroup(ctx, "exec", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/ecs/" + args.Prefix + "/exec"),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("creating ECS Exec log group: %w", err)
	}
	s.LogGroups["exec"] = execLogs.Name
	cluster, err := ecs.NewCluster(ctx, "cluster", &ecs.ClusterArgs{
		Name:     pulumi.String(args.ClusterName),
		Settings: ecs.ClusterSettingArray{&ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String(enabled(args.ContainerInsights))}},
		Configuration: &ecs.ClusterConfigurationArgs{
			// Every ECS Exec session (the database migrations run through it) is logged.
			ExecuteCommandConfiguration: &ecs.ClusterConfigurationExecuteCommandConfigurationArgs{
				Logging: pulumi.String("OVERRIDE"),
				LogConfiguration: &ecs.ClusterConfigurationExecuteCommandConfigurationLogConfigurationArgs{
					CloudWatchLogGroupName: execLogs.Name,
				},
			},
		},
		// Only a new name replaces the cluster, so the new one never collides with the old:
		// created first, the services move into it before the old one goes (deleted first,
		// the engine would delete both services with it, both tiers down).
	}, child, pulumi.DeleteBeforeReplace(false))
	if err != nil {
		return nil, fmt.Errorf("creating ECS cluster: %w", err)
	}
	s.ClusterName = cluster.Name
	capacity, err := ecs.NewClusterCapacityProviders(ctx, "cluster", &ecs.ClusterCapacityProvidersArgs{
		ClusterName:       cluster.Name,
		CapacityProviders: pulumi.ToStringArray([]string{"FARGATE", "FARGATE_SPOT"}),
		DefaultCapacityProviderStrategies: ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArray{
			&ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs{CapacityProvider: pulumi.String(capacityProvider(args.FargateSpot)), Weight: pulumi.Int(1)},
		},
		// Only another cluster replaces it, so the new one never meets the old: created first,
		// for the new cluster. Deleted first, it would take the capacity providers from the old
		// cluster while its services still run on them, which ECS refuses.
	}, child, pulumi.DeleteBeforeReplace(false))
	if err != nil {
		return nil, fmt.Errorf("setting the cluster's capacity providers: %w", err)
	}

	// A service starts once the load balancer routes to it and its capacity provider exists.
	after := append(append([]pulumi.Resource{}, front.routing...), capacity)
	for _, cfg := range args.Services {
		spec := &serviceSpec{
			cfg: cfg, args: args, cluster: cluster.Arn, repository: args.Repositories[cfg.Name],
			securityGroupID: args.SecurityGroupIDs[cfg.Name], targetGroup: front.targetGroups[cfg.Name],
			albArnSuffix: front.arnSuffix, execLogGroupArn: execLogs.Arn, after: after,
		}
		declared, err := spec.gatherSecrets(ctx, child)
		if err != nil {
			return nil, err
		}
		if len(declared) > 0 {
			s.SecretArns[cfg.Name] = declared
		}
		ref, err := newService(ctx, spec, child)
		if err != nil {
			return nil, err
		}
		s.Refs = append(s.Refs, *ref)
		if !ref.Deployed {
			continue
		}
		s.LogGroups[cfg.Name] = ref.LogGroup
		if len(spec.watched) > 0 {
			machine, err := redeployOnSecretChange(ctx, rolledService{
				Account: args.Account, Prefix: args.Prefix, AlarmTopicArn: args.AlarmTopicArn,
				Key: cfg.Name, Name: ref.Name, Arn: ref.Arn, ClusterArn: cluster.Arn, AlarmNames: ref.alarmNames, Service: ref.resource,
			}, spec.watched, child)
			if err != nil {
				return nil, err
			}
			s.RedeployArns[cfg.Name] = machine
		}
	}

	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"url": s.URL, "albDnsName": s.AlbDNSName, "clusterName": s.ClusterName})
}

// capacityProvider is FARGATE_SPOT when config allows interruptible capacity, else FARGATE.
func capacityProvider(spot bool) string {
	if spot {
		return "FARGATE_SPOT"
	}
	return "FARGATE"
}

// serviceSpec is one service as NewServices builds it.
type serviceSpec struct {
	cfg        ServiceConfig
	args       *ServicesArgs
	cluster    pulumi.StringInput
	repository Repository

	securityGroupID pulumi.StringInput
	targetGroup     *lb.TargetGroup
	// albArnSuffix is the LoadBalancer dimension of the target group's metrics.
	albArnSuffix pulumi.StringInput
	// execLogGroupArn is where ECS Exec sessions are logged.
	execLogGroupArn pulumi.StringInput

	// secrets are the container's secret variables, by the ARN ECS reads them from;
	// secretArns and parameterArns are what the execution role may read; watched are the
	// Secrets Manager secrets whose new values must reach the running tasks (gatherSecrets).
	secrets       map[string]pulumi.StringInput
	secretArns    []pulumi.StringInput
	parameterArns []pulumi.StringInput
	watched       []watchedSecret
	// after are the resources the service must wait for (its routing).
	after []pulumi.Resource
}

// gatherSecrets collects what the service's container reads from secret stores: the data
// tier's password and AUTH token for a data-tier service, the secrets it declares (created
// here, and returned by variable), and the team's own. The RDS-managed password rotates; a
// service is rolled when it, or any Secrets Manager secret it reads, gets a new value
// (redeploy.go).
func (spec *serviceSpec) gatherSecrets(ctx *pulumi.Context, parent pulumi.ResourceOption) (pulumi.StringMap, error) {
	cfg, db := spec.cfg, spec.args.DataTier
	spec.secrets = map[string]pulumi.StringInput{}
	if cfg.DataTier {
		// ECS reads one key of the JSON secret RDS keeps: "<arn>:<key>::".
		spec.secrets[envDatabasePassword] = pulumi.Sprintf("%s:password::", db.SecretArn)
		spec.secrets[envRedisAuthToken] = db.RedisAuthSecretArn
		spec.secretArns = append(spec.secretArns, db.SecretArn, db.RedisAuthSecretArn)
		spec.watched = append(spec.watched, watchedSecret{arn: db.SecretArn})
	}
	keeping := secretKeeping{Prefix: spec.args.Prefix, KeyArn: spec.args.KeyArn, RecoveryDays: spec.args.SecretRecoveryDays,
		Copies: spec.args.Copies, Protect: spec.args.Protect}
	managed, err := newManagedSecrets(ctx, keeping, cfg, parent)
	if err != nil {
		return nil, err
	}
	declared := pulumi.StringMap{}
	for _, variable := range sortedKeys(managed) {
		arn := managed[variable].Arn
		spec.secrets[variable] = arn
		spec.secretArns = append(spec.secretArns, arn)
		spec.watched = append(spec.watched, watchedSecret{arn: arn})
		declared[variable] = arn
	}
	for _, variable := range sortedKeys(cfg.Secrets) {
		source, err := parseSecretSource(cfg.Secrets[variable], spec.args.Account)
		if err != nil {
			return nil, fmt.Errorf("%sSecrets %s: %w", cfg.Name, variable, err) // config validation refuses it first
		}
		spec.secrets[variable] = pulumi.String(source.valueFrom)
		for _, arn := range source.resources {
			if source.secretsManager {
				spec.secretArns = append(spec.secretArns, pulumi.String(arn))
			} else {
				spec.parameterArns = append(spec.parameterArns, pulumi.String(arn))
			}
		}
		if source.secretsManager {
			base, partial := source.secretArn()
			spec.watched = append(spec.watched, watchedSecret{arn: pulumi.String(base), partial: partial})
		}
	}
	return declared, nil
}

// environment is the container's plain settings: the stage for every service; the data tier's
// addresses, the uploads bucket and the region for a data-tier service.
func (spec *serviceSpec) environment() map[string]pulumi.StringInput {
	args, db := spec.args, spec.args.DataTier
	variables := map[string]pulumi.StringInput{envEnvironment: pulumi.String(args.Environment)}
	if spec.cfg.DataTier {
		variables[envDatabaseHost] = db.Address
		variables[envDatabasePort] = pulumi.Sprintf("%d", db.Port)
		variables[envDatabaseName] = pulumi.String(db.Name)
		variables[envDatabaseUser] = pulumi.String(db.Username)
		variables[envRedisHost] = db.RedisAddress
		variables[envRedisPort] = pulumi.String(strconv.Itoa(redisPort))
		variables[envRedisTLS] = pulumi.String("true")
		variables[envUploadsBucket] = args.UploadsBucketName
		variables[envRegion] = pulumi.String(args.Account.Region)
	}
	if q := spec.cfg.QueueName; q != "" {
		// SQS's queue URL, https://sqs.<region>.<DNS suffix>/<account>/<name>: the worker needs
		// no lookup to find its queue.
		variables[envQueueURL] = pulumi.String(fmt.Sprintf("https://sqs.%s.%s/%s/%s", args.Account.Region, args.Account.DNSSuffix, args.Account.AccountID, q))
		variables[envRegion] = pulumi.String(args.Account.Region)
	}
	return variables
}

// targetGroupArnSuffix is the TargetGroup dimension of the service's target group's metrics;
// nil for a worker, which has none.
func (spec *serviceSpec) targetGroupArnSuffix() pulumi.StringInput {
	if spec.targetGroup == nil {
		return nil
	}
	return spec.targetGroup.ArnSuffix
}

// taskPolicy is what the application may do: the uploads bucket for a data-tier service, the
// ECS Exec channels and session logs for a service with Exec; nothing otherwise.
func (spec *serviceSpec) taskPolicy() []statement {
	args := spec.args
	var statements []statement
	if spec.cfg.DataTier {
		statements = append(statements,
			statement{Sid: "ReadWriteUploads", Actions: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
				Resources: []pulumi.StringInput{pulumi.Sprintf("%s/*", args.UploadsBucketArn)}},
			statement{Sid: "ListUploads", Actions: []string{"s3:ListBucket"}, Resources: []pulumi.StringInput{args.UploadsBucketArn}},
			statement{Sid: "EncryptUploads", Actions: []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resources: []pulumi.StringInput{args.KeyArn}})
	}
	if spec.cfg.QueueName != "" {
		statements = append(statements, statement{Sid: "ConsumeQueue",
			Actions:   []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
			Resources: []pulumi.StringInput{pulumi.String(args.Account.arn("sqs", args.Account.Region, spec.cfg.QueueName))}})
	}
	if spec.cfg.Exec {
		statements = append(statements,
			// The Session Manager channels of ECS Exec have no resource to scope to.
			statement{Sid: "ExecChannels", Actions: []string{"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
				"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}, Resources: []pulumi.StringInput{pulumi.String("*")}},
			statement{Sid: "FindExecLogGroup", Actions: []string{"logs:DescribeLogGroups"},
				Resources: []pulumi.StringInput{pulumi.String(args.Account.arn("logs", args.Account.Region, "log-group:*"))}},
			statement{Sid: "WriteExecLogs", Actions: []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
				Resources: []pulumi.StringInput{pulumi.Sprintf("%s:log-stream:*", spec.execLogGroupArn)}})
	}
	return statements
}

// newService creates a service's log group, roles, task definition, deployment alarms and ECS
// service, once its image tag is set: before the first release there is no image to run, and
// a service started on one that was never pushed would only fail, roll back and page.
func newService(ctx *pulumi.Context, spec *serviceSpec, parent pulumi.ResourceOption) (*ServiceRef, error) {
	args, cfg, name := spec.args, spec.cfg, spec.cfg.Name
	if cfg.ImageTag == "" {
		return &ServiceRef{Key: name, TargetGroupArnSuffix: spec.targetGroupArnSuffix()}, nil
	}
	family := args.Prefix + "-" + name

	logs, err := cloudwatch.NewLogGroup(ctx, name, &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(cfg.LogGroupName),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating %s log group: %w", name, err)
	}

	tasksOfThisAccount := args.Account.arn("ecs", args.Account.Region, "*")
	execution, err := newServiceRole(ctx, args.Account, name+"-execution",
		"Lets ECS pull the "+name+" image, write its logs and read its secrets",
		"ecs-tasks.amazonaws.com", tasksOfThisAccount, executionStatements(spec, logs.Arn), parent)
	if err != nil {
		return nil, err
	}
	task, err := newServiceRole(ctx, args.Account, name+"-task", "What the "+name+" application may do",
		"ecs-tasks.amazonaws.com", tasksOfThisAccount, spec.taskPolicy(), parent)
	if err != nil {
		return nil, err
	}
	// The task definition names the roles, not their inline policies; without waiting for
	// them, the service could start tasks that may not yet pull the image or read the secrets.
	policies := append(execution.after(), task.after()...)

	image := pulumi.Sprintf("%s:%s", spec.repository.URL, cfg.ImageTag)
	volumes := writableVolumes(cfg.ReadonlyRootFilesystem, cfg.Exec, cfg.WritablePaths)
	var taskVolumes ecs.TaskDefinitionVolumeArray
	for _, v := range volumes {
		// A volume without a host path is an empty directory of the task's ephemeral storage.
		taskVolumes = append(taskVolumes, &ecs.TaskDefinitionVolumeArgs{Name: pulumi.String(v.name)})
	}
	containers := pulumi.All(image, logs.Name, pulumi.StringMap(spec.environment()), pulumi.StringMap(spec.secrets)).ApplyT(
		func(v []any) (string, error) {
			return containerDefinitions(containerSpec{
				Name: name, Image: v[0].(string), Port: cfg.Port, User: cfg.User,
				LogGroup: v[1].(string), Region: args.Account.Region,
				Environment: v[2].(map[string]string), Secrets: v[3].(map[string]string),
				ExecEnabled: cfg.Exec, ReadonlyRootFilesystem: cfg.ReadonlyRootFilesystem, Volumes: volumes,
			})
		}).(pulumi.StringOutput)
	taskDefinition, err := ecs.NewTaskDefinition(ctx, name, &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(family),
		Cpu:                     pulumi.String(strconv.Itoa(cfg.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(cfg.Memory)),
		NetworkMode:             pulumi.String("awsvpc"),
		RequiresCompatibilities: pulumi.ToStringArray([]string{"FARGATE"}),
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"),
			CpuArchitecture:       pulumi.String(args.CPUArchitecture),
		},
		ExecutionRoleArn:     execution.role.Arn,
		TaskRoleArn:          task.role.Arn,
		ContainerDefinitions: containers,
		Volumes:              taskVolumes,
	}, parent, pulumi.DependsOn(policies))
	if err != nil {
		return nil, fmt.Errorf("creating %s task definition: %w", name, err)
	}

	// The service's own 5XX and latency alarms judge its deployments: they exist before the
	// service, and ECS rolls a deployment back when one fires. A worker serves no requests:
	// the circuit breaker alone judges its deployments (a task that does not start or stay up).
	var deploymentAlarms []alarmSpec
	if !cfg.Worker {
		deploymentAlarms = deploymentAlarmSpecs(name, args.Prefix, logs.Name,
			newTargetMetrics(name, spec.targetGroup.ArnSuffix, spec.albArnSuffix), args.Alarms)
	}
	alarms, err := createAlarms(ctx, args.Prefix, args.AlarmTopicArn, deploymentAlarms, parent, movedFromAlarms(ctx))
	if err != nil {
		return nil, err
	}
	var alarmNames pulumi.StringArray
	for _, a := range alarms {
		alarmNames = append(alarmNames, a.Name)
	}
	routing := args.Routing
	grace, draining := routing.HealthCheckGracePeriodSeconds, routing.DeregistrationDelaySeconds
	var loadBalancers ecs.ServiceLoadBalancerArray
	var deploymentAlarmRollback *ecs.ServiceAlarmsArgs
	if cfg.Worker {
		grace, draining = 0, 0
	} else {
		loadBalancers = ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: spec.targetGroup.Arn, ContainerName: pulumi.String(name), ContainerPort: pulumi.Int(cfg.Port),
		}}
		deploymentAlarmRollback = &ecs.ServiceAlarmsArgs{AlarmNames: alarmNames, Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)}
	}
	timeout := deploymentTimeout(grace, draining, longestWindow(deploymentAlarms))

	service, err := ecs.NewService(ctx, name, &ecs.ServiceArgs{
		Name:           pulumi.String(cfg.ServiceName),
		Cluster:        spec.cluster,
		TaskDefinition: taskDefinition.Arn,
		DesiredCount:   pulumi.Int(cfg.DesiredCount),
		CapacityProviderStrategies: ecs.ServiceCapacityProviderStrategyArray{
			&ecs.ServiceCapacityProviderStrategyArgs{CapacityProvider: pulumi.String(capacityProvider(args.FargateSpot)), Weight: pulumi.Int(1)},
		},
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        args.PrivateSubnetIDs,
			SecurityGroups: pulumi.StringArray{spec.securityGroupID},
			AssignPublicIp: pulumi.Bool(false),
		},
		LoadBalancers:            loadBalancers,
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		Alarms:                   deploymentAlarmRollback,
		// "pulumi up" waits until the deployment has finished instead of reporting success while
		// ECS is still starting (or failing to start) the tasks; past the timeout it fails.
		WaitForSteadyState:              pulumi.Bool(true),
		DeploymentMinimumHealthyPercent: pulumi.Int(deploymentMinimumHealthyPercent),
		DeploymentMaximumPercent:        pulumi.Int(deploymentMaximumPercent),
		// ECS takes a grace period only for a service behind a load balancer.
		HealthCheckGracePeriodSeconds: optionalInt(!cfg.Worker, grace),
		EnableExecuteCommand:          pulumi.Bool(cfg.Exec),
		PropagateTags:                 pulumi.String("SERVICE"),
		EnableEcsManagedTags:          pulumi.Bool(true),
		// With it, a change of the capacity provider strategy (fargateSpot) is a rolling
		// deployment instead of a replacement of the service (the provider's
		// capacityProviderStrategyCustomizeDiff); every other update of the service rolls its
		// tasks too, behind the circuit breaker.
		ForceNewDeployment: pulumi.Bool(true),
	}, parent, pulumi.DependsOn(append(append([]pulumi.Resource{}, spec.after...), policies...)),
		// Autoscaling owns the desired count once the service exists; applying the config value
		// again on every deployment would undo a scale-out in the middle of a peak.
		pulumi.IgnoreChanges([]string{"desiredCount"}),
		// Only a new name or cluster replaces the service (the strategy changes in place, see
		// ForceNewDeployment), and ECS allows one name per cluster: the new service starts,
		// registers with the same target group and takes traffic before the old one is
		// deleted. The bridge would delete first, since the name is set; both services
		// deleted first would take both tiers down at once.
		pulumi.DeleteBeforeReplace(false),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: timeout, Update: timeout}))
	if err != nil {
		return nil, fmt.Errorf("creating %s service: %w", name, err)
	}
	return &ServiceRef{
		Key: name, Deployed: true,
		Name: service.Name, Arn: service.ID().ToStringOutput(), LogGroup: logs.Name,
		TaskDefinitionArn: taskDefinition.Arn, TargetGroupArnSuffix: spec.targetGroupArnSuffix(),
		resource: service, alarmNames: alarmNames,
	}, nil
}

// Times a deployment takes beyond what config sets, in seconds.
const (
	// taskStartAllowance covers placing a task, pulling its image and starting it.
	taskStartAllowance = 300
	// deploymentMargin is slack for ECS's own polling and placement retries.
	deploymentMargin = 300
)

// deploymentTimeout is how long "pulumi up" waits for a service to reach steady state: a new
// task starts, passes its grace period and health checks, the old tasks drain and stop, and ECS
// watches the deployment alarms for their longest window (the bake time) before the
// deployment completes. The default settings give 28 minutes, more than the 20 the provider
// waits by default, which the bake time alone nearly uses up.
func deploymentTimeout(graceSeconds, deregistrationSeconds, bakeSeconds int) string {
	total := taskStartAllowance + graceSeconds + healthyThreshold*healthCheckIntervalSeconds + deregistrationSeconds +
		stopTimeoutSeconds + bakeSeconds + deploymentMargin
	return fmt.Sprintf("%dm", (total+59)/60)
}

// executionStatements let ECS pull exactly this service's image, write to its log group, and
// read exactly its secrets.
func executionStatements(spec *serviceSpec, logGroupArn pulumi.StringOutput) []statement {
	statements := []statement{
		// GetAuthorizationToken has no resource to scope to.
		{Sid: "EcrLogin", Actions: []string{"ecr:GetAuthorizationToken"}, Resources: []pulumi.StringInput{pulumi.String("*")}},
		{Sid: "PullImage", Actions: []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"},
			Resources: []pulumi.StringInput{spec.repository.Arn}},
		{Sid: "WriteLogs", Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resources: []pulumi.StringInput{pulumi.Sprintf("%s:log-stream:*", logGroupArn)}},
	}
	if len(spec.secretArns) > 0 {
		statements = append(statements,
			statement{Sid: "ReadSecrets", Actions: []string{"secretsmanager:GetSecretValue"}, Resources: spec.secretArns},
			statement{Sid: "DecryptSecrets", Actions: []string{"kms:Decrypt"}, Resources: []pulumi.StringInput{spec.args.KeyArn}})
	}
	if len(spec.parameterArns) > 0 {
		statements = append(statements,
			statement{Sid: "ReadParameters", Actions: []string{"ssm:GetParameters"}, Resources: spec.parameterArns})
	}
	return statements
}

// enabled is a switch as ECS writes it.
func enabled(on bool) string {
	if on {
		return "enabled"
	}
	return "disabled"
}
