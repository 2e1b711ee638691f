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
	Env    awsEnv
	Prefix string
	// Config holds the sizes, ports, image tags, routing and scaling settings.
	Config *Config

	VpcID                   pulumi.StringInput
	PublicSubnetIDs         pulumi.StringArrayInput
	PrivateSubnetIDs        pulumi.StringArrayInput
	AlbSecurityGroupID      pulumi.StringInput
	BackendSecurityGroupID  pulumi.StringInput
	FrontendSecurityGroupID pulumi.StringInput

	// LogsBucketName receives the load balancer's access logs.
	LogsBucketName pulumi.StringInput
	// UploadsBucketName and UploadsBucketArn are the backend's object store.
	UploadsBucketName pulumi.StringInput
	UploadsBucketArn  pulumi.StringInput
	// KeyArn decrypts the secrets and the uploads.
	KeyArn pulumi.StringInput
	// The images' repositories.
	BackendRepositoryURL, BackendRepositoryArn   pulumi.StringInput
	FrontendRepositoryURL, FrontendRepositoryArn pulumi.StringInput

	// The data tier, as the backend reaches it.
	Database *Database
	// AlarmTopicArn is notified by the services' deployment alarms.
	AlarmTopicArn pulumi.StringInput
}

// Services is the ECS cluster and the two services behind the load balancer.
type Services struct {
	pulumi.ResourceState

	// URL is where users reach the application; AlbDNSName the load balancer's own name.
	URL        pulumi.StringOutput
	AlbDNSName pulumi.StringOutput
	// AlbArnSuffix is the LoadBalancer dimension of the load balancer's metrics.
	AlbArnSuffix pulumi.StringOutput
	ClusterName  pulumi.StringOutput
	Backend      ServiceRef
	Frontend     ServiceRef
	// BackendSecretArns are the secrets declared for backendManagedSecrets, by variable.
	BackendSecretArns pulumi.StringMap
	// LogGroups are the services' log groups: "backend", "frontend" (once released), "exec".
	LogGroups pulumi.StringMap
}

// ServiceRef is what autoscaling and the alarms need of one service.
type ServiceRef struct {
	Name              pulumi.StringOutput
	LogGroup          pulumi.StringOutput
	Arn               pulumi.StringOutput
	TaskDefinitionArn pulumi.StringOutput
	// TargetGroupArnSuffix is the TargetGroup dimension of the target group's metrics.
	TargetGroupArnSuffix pulumi.StringOutput
	// Config is the service's sizing and scaling.
	Config ServiceConfig
	// resource is the ECS service, for what must wait for it.
	resource pulumi.Resource
	// Deployed is false until the service's image tag is set: then there is no task
	// definition, service, scaling or alarm of it yet, only its target group.
	Deployed bool
}

// NewServices creates the cluster, the load balancer, and the backend and frontend services.
func NewServices(ctx *pulumi.Context, name string, args *ServicesArgs, opts ...pulumi.ResourceOption) (*Services, error) {
	s := &Services{LogGroups: pulumi.StringMap{}}
	if err := ctx.RegisterComponentResource("coldchain:index:Services", name, s, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(s)
	c := args.Config

	front, err := newFrontDoor(ctx, args, s)
	if err != nil {
		return nil, err
	}
	s.URL, s.AlbDNSName, s.AlbArnSuffix = front.url, front.dnsName, front.arnSuffix

	execLogs, err := cloudwatch.NewLogGroup(ctx, "exec", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/ecs/" + args.Prefix + "/exec"),
		RetentionInDays: pulumi.Int(c.LogRetentionDays),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("creating ECS Exec log group: %w", err)
	}
	s.LogGroups["exec"] = execLogs.Name
	cluster, err := ecs.NewCluster(ctx, "cluster", &ecs.ClusterArgs{
		Name:     pulumi.String(args.Prefix),
		Settings: ecs.ClusterSettingArray{&ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String("enabled")}},
		Configuration: &ecs.ClusterConfigurationArgs{
			// Every ECS Exec session (the database migrations run through it) is logged.
			ExecuteCommandConfiguration: &ecs.ClusterConfigurationExecuteCommandConfigurationArgs{
				Logging: pulumi.String("OVERRIDE"),
				LogConfiguration: &ecs.ClusterConfigurationExecuteCommandConfigurationLogConfigurationArgs{
					CloudWatchLogGroupName: execLogs.Name,
				},
			},
		},
		// The cluster's name is typed by operators; a replacement must free it first.
	}, child, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("creating ECS cluster: %w", err)
	}
	s.ClusterName = cluster.Name
	capacity, err := ecs.NewClusterCapacityProviders(ctx, "cluster", &ecs.ClusterCapacityProvidersArgs{
		ClusterName:       cluster.Name,
		CapacityProviders: pulumi.ToStringArray([]string{"FARGATE", "FARGATE_SPOT"}),
		DefaultCapacityProviderStrategies: ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArray{
			&ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs{CapacityProvider: pulumi.String(capacityProvider(c)), Weight: pulumi.Int(1)},
		},
	}, child)
	if err != nil {
		return nil, fmt.Errorf("setting the cluster's capacity providers: %w", err)
	}

	// A service starts once the load balancer routes to it and its capacity provider exists.
	after := append(append([]pulumi.Resource{}, front.routing...), capacity)

	db := args.Database
	backendSecrets := map[string]pulumi.StringInput{
		// ECS reads one key of the JSON secret RDS keeps: "<arn>:<key>::".
		envDatabasePassword: pulumi.Sprintf("%s:password::", db.SecretArn),
		envRedisAuthToken:   db.RedisAuthSecretArn,
	}
	secretArns := []pulumi.StringInput{db.SecretArn, db.RedisAuthSecretArn}
	// The RDS-managed password rotates; the backend is rolled when it, or any secret of the
	// team's, gets a new value (redeploy.go).
	watched := []watchedSecret{{arn: db.SecretArn}}
	var parameterArns []pulumi.StringInput
	managed, err := newManagedSecrets(ctx, args, child)
	if err != nil {
		return nil, err
	}
	s.BackendSecretArns = pulumi.StringMap{}
	for _, variable := range sortedKeys(managed) {
		arn := managed[variable].Arn
		backendSecrets[variable] = arn
		secretArns = append(secretArns, arn)
		watched = append(watched, watchedSecret{arn: arn})
		s.BackendSecretArns[variable] = arn
	}
	for _, env := range sortedKeys(c.BackendSecrets) {
		source, err := parseSecretSource(c.BackendSecrets[env], args.Env)
		if err != nil {
			return nil, fmt.Errorf("backendSecrets %s: %w", env, err) // config validation refuses it first
		}
		backendSecrets[env] = pulumi.String(source.valueFrom)
		for _, arn := range source.resources {
			if source.secretsManager {
				secretArns = append(secretArns, pulumi.String(arn))
			} else {
				parameterArns = append(parameterArns, pulumi.String(arn))
			}
		}
		if source.secretsManager {
			base, partial := source.secretArn()
			watched = append(watched, watchedSecret{arn: pulumi.String(base), partial: partial})
		}
	}

	backendGroup := front.targetGroups["backend"]
	backend, err := newService(ctx, &serviceSpec{
		name: "backend", cfg: c.Backend, args: args, cluster: cluster.Arn,
		repositoryURL: args.BackendRepositoryURL, repositoryArn: args.BackendRepositoryArn,
		securityGroupID: args.BackendSecurityGroupID, targetGroup: backendGroup, albArnSuffix: front.arnSuffix,
		environment: map[string]pulumi.StringInput{
			envDatabaseHost:  db.Address,
			envDatabasePort:  pulumi.Sprintf("%d", db.Port),
			envDatabaseName:  pulumi.String(db.Name),
			envDatabaseUser:  pulumi.String(db.Username),
			envRedisHost:     db.RedisAddress,
			envRedisPort:     pulumi.String(strconv.Itoa(redisPort)),
			envRedisTLS:      pulumi.String("true"),
			envUploadsBucket: args.UploadsBucketName,
			envRegion:        pulumi.String(args.Env.Region),
			envEnvironment:   pulumi.String(c.Environment),
		},
		secrets:       backendSecrets,
		secretArns:    secretArns,
		parameterArns: parameterArns,
		taskPolicy:    backendTaskPolicy(args, execLogs.Arn),
		execEnabled:   true,
		after:         after,
	}, child)
	if err != nil {
		return nil, err
	}
	s.Backend = *backend
	if backend.Deployed {
		s.LogGroups["backend"] = backend.LogGroup
		if err := redeployOnSecretChange(ctx, args.Env, "backend", watched, cluster.Arn, backend.Name, backend.Arn, child,
			[]pulumi.Resource{backend.resource}); err != nil {
			return nil, err
		}
	}

	frontend, err := newService(ctx, &serviceSpec{
		name: "frontend", cfg: c.Frontend, args: args, cluster: cluster.Arn,
		repositoryURL: args.FrontendRepositoryURL, repositoryArn: args.FrontendRepositoryArn,
		securityGroupID: args.FrontendSecurityGroupID, targetGroup: front.targetGroups["frontend"], albArnSuffix: front.arnSuffix,
		environment: map[string]pulumi.StringInput{
			envEnvironment: pulumi.String(c.Environment),
		},
		after: after,
	}, child)
	if err != nil {
		return nil, err
	}
	s.Frontend = *frontend
	if frontend.Deployed {
		s.LogGroups["frontend"] = frontend.LogGroup
	}

	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"url":         s.URL,
		"albDnsName":  s.AlbDNSName,
		"clusterName": s.ClusterName,
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// capacityProvider is FARGATE_SPOT when config allows interruptible capacity, else FARGATE.
func capacityProvider(c *Config) string {
	if c.FargateSpot {
		return "FARGATE_SPOT"
	}
	return "FARGATE"
}

// serviceSpec describes one service.
type serviceSpec struct {
	name          string
	cfg           ServiceConfig
	args          *ServicesArgs
	cluster       pulumi.StringInput
	repositoryURL pulumi.StringInput
	repositoryArn pulumi.StringInput

	securityGroupID pulumi.StringInput
	targetGroup     *lb.TargetGroup
	// albArnSuffix is the LoadBalancer dimension of the target group's metrics.
	albArnSuffix pulumi.StringInput

	// environment and secrets are the container's variables: secrets by the ARN ECS reads
	// them from. secretArns and parameterArns are what the execution role may read.
	environment   map[string]pulumi.StringInput
	secrets       map[string]pulumi.StringInput
	secretArns    []pulumi.StringInput
	parameterArns []pulumi.StringInput
	// taskPolicy is what the application may do; empty for none.
	taskPolicy []statement
	// execEnabled turns on ECS Exec.
	execEnabled bool
	// after are the resources the service must wait for (its routing).
	after []pulumi.Resource
}

// newService creates a service's log group, roles, task definition and ECS service, once its
// image tag is set: before the first release there is no image to run, and a service started
// on one that was never pushed would only fail, roll back and page.
func newService(ctx *pulumi.Context, spec *serviceSpec, parent pulumi.ResourceOption) (*ServiceRef, error) {
	args, c, name := spec.args, spec.args.Config, spec.name
	if spec.cfg.ImageTag == "" {
		return &ServiceRef{TargetGroupArnSuffix: spec.targetGroup.ArnSuffix, Config: spec.cfg}, nil
	}
	family := args.Prefix + "-" + name

	logs, err := cloudwatch.NewLogGroup(ctx, name, &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/ecs/" + args.Prefix + "/" + name),
		RetentionInDays: pulumi.Int(c.LogRetentionDays),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating %s log group: %w", name, err)
	}

	tasksOfThisAccount := args.Env.arn("ecs", args.Env.Region, "*")
	execution, err := newServiceRole(ctx, args.Env, name+"-execution",
		"Lets ECS pull the "+name+" image, write its logs and read its secrets",
		"ecs-tasks.amazonaws.com", tasksOfThisAccount, executionStatements(spec, logs.Arn), parent)
	if err != nil {
		return nil, err
	}
	task, err := newServiceRole(ctx, args.Env, name+"-task", "What the "+name+" application may do",
		"ecs-tasks.amazonaws.com", tasksOfThisAccount, spec.taskPolicy, parent)
	if err != nil {
		return nil, err
	}
	// The task definition names the roles, not their inline policies; without waiting for
	// them, the service could start tasks that may not yet pull the image or read the secrets.
	policies := append(execution.after(), task.after()...)

	image := pulumi.Sprintf("%s:%s", spec.repositoryURL, spec.cfg.ImageTag)
	volumes := writableVolumes(spec.cfg.ReadonlyRootFilesystem, spec.execEnabled, spec.cfg.WritablePaths)
	var taskVolumes ecs.TaskDefinitionVolumeArray
	for _, v := range volumes {
		// A volume without a host path is an empty directory of the task's ephemeral storage.
		taskVolumes = append(taskVolumes, &ecs.TaskDefinitionVolumeArgs{Name: pulumi.String(v.name)})
	}
	containers := pulumi.All(image, logs.Name, pulumi.StringMap(spec.environment), pulumi.StringMap(spec.secrets)).ApplyT(
		func(v []any) (string, error) {
			return containerDefinitions(containerSpec{
				Name: name, Image: v[0].(string), Port: spec.cfg.Port, User: spec.cfg.User,
				LogGroup: v[1].(string), Region: args.Env.Region,
				Environment: v[2].(map[string]string), Secrets: v[3].(map[string]string),
				ExecEnabled: spec.execEnabled, ReadonlyRootFilesystem: spec.cfg.ReadonlyRootFilesystem, Volumes: volumes,
			})
		}).(pulumi.StringOutput)
	taskDefinition, err := ecs.NewTaskDefinition(ctx, name, &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(family),
		Cpu:                     pulumi.String(strconv.Itoa(spec.cfg.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(spec.cfg.Memory)),
		NetworkMode:             pulumi.String("awsvpc"),
		RequiresCompatibilities: pulumi.ToStringArray([]string{"FARGATE"}),
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"),
			CpuArchitecture:       pulumi.String(c.CPUArchitecture),
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
	// service, and ECS rolls a deployment back when one fires.
	deploymentAlarms := deploymentAlarmSpecs(name, args.Prefix,
		newTargetMetrics(name, spec.targetGroup.ArnSuffix, spec.albArnSuffix), c.Alarms)
	alarms, err := createAlarms(ctx, args.Prefix, args.AlarmTopicArn, deploymentAlarms, parent)
	if err != nil {
		return nil, err
	}
	var alarmNames pulumi.StringArray
	for _, a := range alarms {
		alarmNames = append(alarmNames, a.Name)
	}
	timeout := deploymentTimeout(c.HealthCheckGracePeriodSeconds, c.DeregistrationDelaySeconds, longestWindow(deploymentAlarms))

	service, err := ecs.NewService(ctx, name, &ecs.ServiceArgs{
		Name:           pulumi.String(family),
		Cluster:        spec.cluster,
		TaskDefinition: taskDefinition.Arn,
		DesiredCount:   pulumi.Int(spec.cfg.DesiredCount),
		CapacityProviderStrategies: ecs.ServiceCapacityProviderStrategyArray{
			&ecs.ServiceCapacityProviderStrategyArgs{CapacityProvider: pulumi.String(capacityProvider(c)), Weight: pulumi.Int(1)},
		},
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        args.PrivateSubnetIDs,
			SecurityGroups: pulumi.StringArray{spec.securityGroupID},
			AssignPublicIp: pulumi.Bool(false),
		},
		LoadBalancers: ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: spec.targetGroup.Arn, ContainerName: pulumi.String(name), ContainerPort: pulumi.Int(spec.cfg.Port),
		}},
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		Alarms:                   &ecs.ServiceAlarmsArgs{AlarmNames: alarmNames, Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		// "pulumi up" waits until the deployment has finished instead of reporting success while
		// ECS is still starting (or failing to start) the tasks; past the timeout it fails.
		WaitForSteadyState:              pulumi.Bool(true),
		DeploymentMinimumHealthyPercent: pulumi.Int(100),
		DeploymentMaximumPercent:        pulumi.Int(200),
		HealthCheckGracePeriodSeconds:   pulumi.Int(c.HealthCheckGracePeriodSeconds),
		EnableExecuteCommand:            pulumi.Bool(spec.execEnabled),
		PropagateTags:                   pulumi.String("SERVICE"),
		EnableEcsManagedTags:            pulumi.Bool(true),
	}, parent, pulumi.DependsOn(append(append([]pulumi.Resource{}, spec.after...), policies...)),
		// Autoscaling owns the desired count once the service exists; applying the config value
		// again on every deployment would undo a scale-out in the middle of a peak.
		pulumi.IgnoreChanges([]string{"desiredCount"}),
		// The service's name is typed by operators; a replacement must free it first.
		pulumi.DeleteBeforeReplace(true),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: timeout, Update: timeout}))
	if err != nil {
		return nil, fmt.Errorf("creating %s service: %w", name, err)
	}
	return &ServiceRef{
		LogGroup:             logs.Name,
		Name:                 service.Name,
		Arn:                  service.ID().ToStringOutput(),
		resource:             service,
		Deployed:             true,
		TaskDefinitionArn:    taskDefinition.Arn,
		TargetGroupArnSuffix: spec.targetGroup.ArnSuffix,
		Config:               spec.cfg,
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
			Resources: []pulumi.StringInput{spec.repositoryArn}},
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

// backendTaskPolicy lets the backend use the uploads bucket and open ECS Exec sessions.
func backendTaskPolicy(args *ServicesArgs, execLogGroupArn pulumi.StringOutput) []statement {
	return []statement{
		{Sid: "ReadWriteUploads", Actions: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
			Resources: []pulumi.StringInput{pulumi.Sprintf("%s/*", args.UploadsBucketArn)}},
		{Sid: "ListUploads", Actions: []string{"s3:ListBucket"}, Resources: []pulumi.StringInput{args.UploadsBucketArn}},
		{Sid: "EncryptUploads", Actions: []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resources: []pulumi.StringInput{args.KeyArn}},
		// The Session Manager channels of ECS Exec have no resource to scope to.
		{Sid: "ExecChannels", Actions: []string{"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
			"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}, Resources: []pulumi.StringInput{pulumi.String("*")}},
		{Sid: "FindExecLogGroup", Actions: []string{"logs:DescribeLogGroups"},
			Resources: []pulumi.StringInput{pulumi.String(args.Env.arn("logs", args.Env.Region, "log-group:*"))}},
		{Sid: "WriteExecLogs", Actions: []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
			Resources: []pulumi.StringInput{pulumi.Sprintf("%s:log-stream:*", execLogGroupArn)}},
	}
}
