// Command coldchain is the Pulumi program of the Cold Chain Dispatch System's AWS infrastructure.
//
// "pulumi up" runs it against the Pulumi engine; "go run . plan" runs it offline, against the
// in-process engine of internal/offline, and prints what it would create: every resource the
// program registers, and the children of the awsx VPC modeled from awsx's source. Both run
// one program, stackProgram.
//
// Each area is a component in a file of its own, and its Args name exactly what it uses:
// network.go (VPC, subnets as laid out by subnets.go, security groups), storage.go (key,
// buckets, repositories), database.go (PostgreSQL, Redis), alarms.go (the alarm topic first, the
// alarms and dashboard last), ecs.go (cluster, load balancer as in loadbalancer.go, one service
// per entry of Config.Services, with containers.go, secrets.go and redeploy.go) and
// autoscaling.go. config.go holds the typed configuration, configreader.go reads it,
// validate.go and limits.go check it before anything is registered.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"coldchain/internal/offline"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	// The Pulumi CLI runs the program without arguments and with the engine's address in
	// PULUMI_MONITOR; anything else is a person at a terminal.
	if len(os.Args) == 1 && os.Getenv(pulumi.EnvMonitor) != "" {
		pulumi.Run(deploy)
		return
	}
	os.Exit(command(os.Args[1:], os.Stdout, os.Stderr))
}

// usage says what the program is and how it is run.
const usage = `coldchain: the AWS infrastructure of the Cold Chain Dispatch System, as a Pulumi program.

"pulumi preview" and "pulumi up" run it, in this directory, for the selected stack
(Pulumi.<stack>.yaml holds its config). Without Pulumi or AWS credentials:

  go run . plan [--stack NAME] [--json] [--against BEFORE.json] [-c key=value ...]
      print every resource "pulumi up" would create on an empty stack, offline
        --stack NAME    the stack whose Pulumi.NAME.yaml is planned (default production)
        --json          print the plan as JSON instead of a tree
        --against FILE  print instead what "pulumi up" would change in a stack that holds FILE:
                        an earlier plan --json, or "pulumi stack export" (docs/changing-a-stack.md)
        -c key=value    override a config value (repeatable; bare keys get the project's namespace)
  go run . adopt --tfstate FILE [--stack NAME] [-c key=value ...] [--out FILE]
      adopt what a Terraform state manages: report, and the file "pulumi import" takes
      (go run . adopt --help; docs/migrating-from-terraform.md)
  go run . cost [--stack NAME] [-c key=value ...] [--usage key=value ...] [--json]
      the stack's monthly cost at list prices, line by line, with the usage it assumes
      (go run . cost --help; docs/cost.md)
  go run . help
      print this text

README.md says more, and docs/: the configuration keys, the runbook, disaster recovery, costs.
`

// command runs a subcommand and returns the exit status: 0 when it succeeded, 1 when it
// failed, 2 when it was misused.
func command(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "plan":
		return offline.Command(args[1:], stdout, stderr, usage, planStack)
	case "adopt":
		return adoptCommand(args[1:], stdout, stderr, planStack)
	case "cost":
		return costCommand(args[1:], stdout, stderr, planStack)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return 2
}

// deploy is what "pulumi up" and "pulumi preview" run: the stack's config as the engine passes
// it, validated before any resource is registered, then the stack.
func deploy(ctx *pulumi.Context) error {
	raw := map[string]string{}
	if s := os.Getenv(pulumi.EnvConfig); s != "" {
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return fmt.Errorf("reading the stack config from %s: %w", pulumi.EnvConfig, err)
		}
	}
	cfg, err := loadConfig(ctx.Project(), ctx.Stack(), raw)
	if err != nil {
		return err
	}
	return stackProgram(cfg, true, func(w string) { _ = ctx.Log.Warn(w, nil) })(ctx)
}

// planStack is what "go run . plan" and the tests run: the same program as deploy, on the
// offline engine (internal/offline), with what deploy refuses reported as warnings. The
// engine's options plan in a real account (adopt, plan --against a stack export).
func planStack(project, stack string, raw map[string]string, opts ...offline.Option) (*offline.Plan, error) {
	cfg, err := loadConfig(project, stack, raw)
	if err != nil {
		return nil, err
	}
	var warnings []string
	p, err := offline.Run(project, stack, raw, stackProgram(cfg, false, func(w string) { warnings = append(warnings, w) }), opts...)
	if err != nil {
		return nil, err
	}
	p.Warnings = append(p.Warnings, warnings...)
	return p, nil
}

// stackProgram is the one program deploy and planStack run. strict refuses the deploy
// blockers (placeholders, plain HTTP on a protected stack), as "pulumi up" must; otherwise they
// are reported with the warnings.
func stackProgram(cfg *Config, strict bool, warn func(string)) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		blockers := cfg.deployBlockers()
		if strict && len(blockers) > 0 {
			return &ConfigError{Problems: blockers}
		}
		if cfg.Frozen != "" {
			frozen := Problem{Key: "frozen", Value: cfg.Frozen, Allowed: "unset before an update: the stack is frozen " +
				"(docs/disaster-recovery.md); pulumi config rm frozen once the reason is gone"}
			if strict && !ctx.DryRun() {
				return &ConfigError{Problems: []Problem{frozen}}
			}
			warn("pulumi up would stop here: " + frozen.String())
		}
		for _, b := range blockers {
			warn("pulumi up would stop here: " + b.String())
		}
		for _, w := range cfg.warnings() {
			warn(w)
		}
		return newStack(ctx, cfg)
	}
}

// newProvider is an explicit AWS provider for a region: the stack's own or the DR region,
// with the same account guard and default tags.
func newProvider(ctx *pulumi.Context, name string, cfg *Config, region string) (*aws.Provider, error) {
	provider, err := aws.NewProvider(ctx, name, &aws.ProviderArgs{
		Region:            pulumi.String(region),
		Profile:           optionalString(cfg.Profile),
		AllowedAccountIds: optionalStrings(cfg.AllowedAccountIDs),
		DefaultTags:       &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(cfg.DefaultTags())},
	})
	if err != nil {
		return nil, fmt.Errorf("creating AWS provider for %s: %w", region, err)
	}
	return provider, nil
}

// newDisasterRecovery creates the DR region's provider and copies when drRegion is set, and
// returns what the database and the services need to copy their stores there.
func newDisasterRecovery(ctx *pulumi.Context, cfg *Config, account awsAccount, storage *Storage, storageArgs *StorageArgs,
	inArea pulumi.ResourceOption) (*RegionCopies, *DisasterRecovery, error) {
	if cfg.DrRegion == "" {
		return nil, nil, nil
	}
	provider, err := newProvider(ctx, "aws-dr", cfg, cfg.DrRegion)
	if err != nil {
		return nil, nil, err
	}
	dr, err := NewDisasterRecovery(ctx, "dr", &DisasterRecoveryArgs{
		Account:               account,
		Region:                cfg.DrRegion,
		Provider:              provider,
		Prefix:                cfg.Prefix(),
		Protect:               cfg.Protect,
		RetainKey:             storageArgs.RetainKey,
		ForceDestroy:          cfg.ForceDestroy,
		KeyDeletionWindowDays: cfg.KMSDeletionWindowDays,
		Buckets:               storage.DataBuckets,
		SourceKeyArn:          storage.KeyArn,
		Registry:              storageArgs,
	}, inArea)
	if err != nil {
		return nil, nil, err
	}
	return &RegionCopies{Region: cfg.DrRegion, Provider: provider, KeyArn: dr.KeyArn}, dr, nil
}

// newStack wires the areas in the order data flows through them (config, network, storage and
// database, the alarm topic, services, autoscaling and alarms) and exports the stack outputs.
// The alarm topic comes before the services because their deployment alarms notify it.
func newStack(ctx *pulumi.Context, cfg *Config) error {
	provider, err := newProvider(ctx, "aws", cfg, cfg.Region)
	if err != nil {
		return err
	}
	account, zones, err := lookupAccount(ctx, cfg, provider)
	if err != nil {
		return err
	}
	inArea := pulumi.Providers(provider)

	network, err := NewNetwork(ctx, "network", &NetworkArgs{
		Account:              account,
		Prefix:               cfg.Prefix(),
		CidrBlock:            cfg.VpcCidr,
		SubnetCidrs:          cfg.SubnetCidrs,
		S3GatewayEndpoint:    cfg.S3GatewayEndpoint,
		AvailabilityZones:    zones,
		NatGateways:          cfg.NatGateways,
		Services:             networkServices(cfg.Services),
		FlowLogRetentionDays: cfg.FlowLogRetentionDays,
	}, inArea)
	if err != nil {
		return err
	}

	repositories := map[string]RepositorySpec{}
	for _, svc := range cfg.Services {
		repositories[svc.Name] = RepositorySpec{Name: svc.RepositoryName, ReleasedTag: svc.ImageTag}
	}
	registry := &StorageArgs{
		Account:                         account,
		Prefix:                          cfg.Prefix(),
		UploadsBucket:                   cfg.UploadsBucketName,
		BackupsBucket:                   cfg.BackupsBucketName,
		LogsBucket:                      cfg.LogsBucketName,
		Protect:                         cfg.Protect,
		RetainKey:                       cfg.Database.FinalSnapshot,
		ForceDestroy:                    cfg.ForceDestroy,
		KeyDeletionWindowDays:           cfg.KMSDeletionWindowDays,
		NoncurrentVersionExpirationDays: cfg.NoncurrentVersionExpirationDays,
		BackupsArchiveAfterDays:         cfg.BackupsArchiveAfterDays,
		LogsExpirationDays:              cfg.LogsExpirationDays,
		EcrMaxImages:                    cfg.EcrMaxImages,
		EcrImageTagMutability:           cfg.EcrImageTagMutability,
		Repositories:                    repositories,
		EcrEncryption:                   cfg.EcrEncryption,
	}
	storage, err := NewStorage(ctx, "storage", registry, inArea)
	if err != nil {
		return err
	}

	copies, dr, err := newDisasterRecovery(ctx, cfg, account, storage, registry, inArea)
	if err != nil {
		return err
	}
	settings, err := newAccountSettings(ctx, cfg, account, dr, inArea)
	if err != nil {
		return err
	}

	database, err := NewDatabase(ctx, "database", &DatabaseArgs{
		Prefix:                  cfg.Prefix(),
		Settings:                cfg.Database,
		Protect:                 cfg.Protect,
		LogRetentionDays:        cfg.LogRetentionDays,
		SecretRecoveryDays:      cfg.SecretRecoveryDays,
		AvailabilityZones:       zones,
		SubnetIDs:               network.IsolatedSubnetIDs,
		DatabaseSecurityGroupID: network.DatabaseSecurityGroupID,
		RedisSecurityGroupID:    network.RedisSecurityGroupID,
		KeyArn:                  storage.KeyArn,
		Copies:                  copies,
	}, inArea)
	if err != nil {
		return err
	}

	alarmTopic, err := NewAlarmTopic(ctx, "alarm-topic", &AlarmTopicArgs{
		Account:               account,
		Prefix:                cfg.Prefix(),
		Email:                 cfg.AlarmEmail,
		Protect:               cfg.Protect,
		KeyDeletionWindowDays: cfg.KMSDeletionWindowDays,
	}, inArea)
	if err != nil {
		return err
	}

	services, err := NewServices(ctx, "services", &ServicesArgs{
		Account:            account,
		Prefix:             cfg.Prefix(),
		Environment:        cfg.Environment,
		Services:           cfg.Services,
		ClusterName:        cfg.ClusterName,
		ContainerInsights:  cfg.ContainerInsights,
		Routing:            cfg.Routing,
		CPUArchitecture:    cfg.CPUArchitecture,
		FargateSpot:        cfg.FargateSpot,
		LogRetentionDays:   cfg.LogRetentionDays,
		Protect:            cfg.Protect,
		SecretRecoveryDays: cfg.SecretRecoveryDays,
		Alarms:             cfg.Alarms,
		AlarmTopicArn:      alarmTopic.TopicArn,
		VpcID:              network.VpcID,
		PublicSubnetIDs:    network.PublicSubnetIDs,
		PrivateSubnetIDs:   network.PrivateSubnetIDs,
		AlbSecurityGroupID: network.AlbSecurityGroupID,
		SecurityGroupIDs:   network.ServiceSecurityGroupIDs,
		LogsBucketName:     storage.LogsBucketName,
		UploadsBucketName:  storage.UploadsBucketName,
		UploadsBucketArn:   storage.UploadsBucketArn,
		KeyArn:             storage.KeyArn,
		Copies:             copies,
		Repositories:       storage.Repositories,
		DataTier:           database.DataTier,
	}, inArea)
	if err != nil {
		return err
	}

	if _, err := NewAutoscaling(ctx, "autoscaling", &AutoscalingArgs{
		ClusterName:      services.ClusterName,
		AlbArnSuffix:     services.AlbArnSuffix,
		Services:         scaledServices(cfg.Services, services.Refs),
		ScaleInCooldown:  cfg.ScaleInCooldown,
		ScaleOutCooldown: cfg.ScaleOutCooldown,
	}, inArea); err != nil {
		return err
	}

	firewall, err := newFirewall(ctx, cfg, services, settings, inArea)
	if err != nil {
		return err
	}

	alarms, err := NewAlarms(ctx, "alarms", &AlarmsArgs{
		Account:             account,
		Prefix:              cfg.Prefix(),
		TopicArn:            alarmTopic.TopicArn,
		Thresholds:          cfg.Alarms,
		ClusterName:         services.ClusterName,
		AlbArnSuffix:        services.AlbArnSuffix,
		Services:            watchedServices(cfg.Services, services.Refs),
		DefaultRoute:        defaultRoute(cfg.Services),
		DBInstanceID:        database.InstanceID,
		RedisMemberClusters: database.RedisMemberClusters,
		RedisLogGroup:       database.LogGroups["redis"],
		Firewall:            firewall,
		Replications:        replications(dr),
	}, inArea)
	if err != nil {
		return err
	}

	exportOutputs(ctx, cfg, network, storage, database, services, firewall, alarmTopic, alarms)
	if dr != nil {
		// Where the copies are, for the restore runbook.
		ctx.Export("drRegion", pulumi.String(cfg.DrRegion))
		ctx.Export("drKeyArn", dr.KeyArn)
		ctx.Export("drBucketNames", pulumi.ToStringMapOutput(dr.BucketNames))
	}
	return nil
}

// newFirewall puts the web ACL in front of the load balancer when waf is set; nil without.
func newFirewall(ctx *pulumi.Context, cfg *Config, services *Services, settings *AccountSettings, inArea pulumi.ResourceOption) (*Firewall, error) {
	if !cfg.Firewall.Enabled {
		return nil, nil
	}
	var logPolicy pulumi.Resource
	if settings != nil {
		logPolicy = settings.WafLogPolicy
	}
	return NewFirewall(ctx, "firewall", &FirewallArgs{
		Prefix:           cfg.Prefix(),
		LoadBalancerArn:  services.AlbArn,
		RateLimit:        cfg.Firewall.RateLimit,
		RateLimitPaths:   cfg.Firewall.RateLimitPaths,
		Mode:             cfg.Firewall.Mode,
		LogRetentionDays: cfg.LogRetentionDays,
		LogPolicy:        logPolicy,
	}, inArea)
}

// networkServices are what the network needs of the services.
func networkServices(services []ServiceConfig) []NetworkService {
	var out []NetworkService
	for _, svc := range services {
		out = append(out, NetworkService{Name: svc.Name, Port: svc.Port, DataTier: svc.DataTier})
	}
	return out
}

// scaledServices are the released services with their scaling settings.
func scaledServices(services []ServiceConfig, refs []ServiceRef) []ScaledService {
	var out []ScaledService
	for i, svc := range services {
		if !refs[i].Deployed {
			continue
		}
		out = append(out, ScaledService{
			Key: svc.Name, ServiceName: refs[i].Name, TargetGroupArnSuffix: refs[i].TargetGroupArnSuffix,
			MinTasks: svc.MinTasks, MaxTasks: svc.MaxTasks,
			CPUTarget: svc.CPUTarget, MemoryTarget: svc.MemoryTarget, RequestsPerTarget: svc.RequestsPerTarget,
			QueueName: svc.QueueName, MessagesPerTask: svc.MessagesPerTask,
		})
	}
	return out
}

// watchedServices are what the alarms watch of the services.
func watchedServices(services []ServiceConfig, refs []ServiceRef) []WatchedService {
	var out []WatchedService
	for i, ref := range refs {
		out = append(out, WatchedService{
			Key: ref.Key, Deployed: ref.Deployed, Name: ref.Name, LogGroup: ref.LogGroup,
			TargetGroupArnSuffix: ref.TargetGroupArnSuffix, Service: ref.resource,
			QueueName: services[i].QueueName, QueueAgeAlarmSeconds: services[i].QueueAgeAlarmSeconds,
		})
	}
	return out
}

// exportOutputs exports the stack outputs: what the runbook reads, and the Terraform setup's
// outputs under their new names.
func exportOutputs(ctx *pulumi.Context, cfg *Config, network *Network, storage *Storage, database *Database,
	services *Services, firewall *Firewall, alarmTopic *AlarmTopic, alarms *Alarms) {
	ctx.Export("applicationUrl", services.URL)
	ctx.Export("albDnsName", services.AlbDNSName)
	ctx.Export("ecsClusterName", services.ClusterName)
	for i, svc := range cfg.Services {
		ref := services.Refs[i]
		if ref.Deployed { // released: its image tag is set
			ctx.Export(svc.Name+"ServiceName", ref.Name)
			ctx.Export(svc.Name+"TaskDefinitionArn", ref.TaskDefinitionArn)
		}
		ctx.Export(svc.Name+"SecurityGroupId", network.ServiceSecurityGroupIDs[svc.Name])
		ctx.Export(svc.Name+"EcrRepositoryUrl", storage.Repositories[svc.Name].URL)
		if svc.Secrets != nil {
			declared := services.SecretArns[svc.Name]
			if declared == nil {
				declared = pulumi.StringMap{}
			}
			ctx.Export(svc.Name+"SecretArns", declared)
		}
		if machine, ok := services.RedeployArns[svc.Name]; ok {
			ctx.Export(svc.Name+"RedeployStateMachineArn", machine)
		}
	}
	ctx.Export("vpcId", network.VpcID)
	ctx.Export("publicSubnetIds", network.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", network.PrivateSubnetIDs)
	ctx.Export("isolatedSubnetIds", network.IsolatedSubnetIDs)
	ctx.Export("albSecurityGroupId", network.AlbSecurityGroupID)
	ctx.Export("rdsSecurityGroupId", network.DatabaseSecurityGroupID)
	ctx.Export("databaseEndpoint", database.Address)
	ctx.Export("databasePort", database.Port)
	ctx.Export("databaseName", pulumi.String(database.Name))
	ctx.Export("databaseUsername", pulumi.String(database.Username))
	ctx.Export("databaseSecretArn", database.SecretArn)
	ctx.Export("redisPrimaryEndpoint", database.RedisAddress)
	if cfg.Database.FinalSnapshot {
		ctx.Export("databaseFinalSnapshotName", database.FinalSnapshotName)
		ctx.Export("redisFinalSnapshotName", database.RedisFinalSnapshotName)
	}
	ctx.Export("uploadsBucketName", storage.UploadsBucketName)
	ctx.Export("backupsBucketName", storage.BackupsBucketName)
	ctx.Export("logsBucketName", storage.LogsBucketName)
	logGroups := pulumi.StringMap{"flowLogs": network.FlowLogGroup}
	for _, m := range []pulumi.StringMap{services.LogGroups, database.LogGroups} {
		for k, v := range m {
			logGroups[k] = v
		}
	}
	if firewall != nil {
		logGroups["waf"] = firewall.LogGroupName
		ctx.Export("webAclName", firewall.WebACLName)
	}
	ctx.Export("logGroups", logGroups)
	ctx.Export("alarmTopicArn", alarmTopic.TopicArn)
	ctx.Export("dashboardName", alarms.DashboardName)
}

// lookupAccount asks AWS which account, partition and availability zones the provider deploys
// into. The zones are availabilityZones when set, each of which must be one AWS offers without
// opt-in; else the first availabilityZoneCount of those, in AWS's order, which is stable.
func lookupAccount(ctx *pulumi.Context, cfg *Config, provider *aws.Provider) (awsAccount, []string, error) {
	use := pulumi.Provider(provider)
	identity, err := aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{}, use)
	if err != nil {
		return awsAccount{}, nil, fmt.Errorf("looking up the AWS account: %w", err)
	}
	partition, err := aws.GetPartition(ctx, &aws.GetPartitionArgs{}, use)
	if err != nil {
		return awsAccount{}, nil, fmt.Errorf("looking up the AWS partition: %w", err)
	}
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State: pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{"opt-in-not-required"}},
		},
	}, use)
	if err != nil {
		return awsAccount{}, nil, fmt.Errorf("looking up availability zones in %s: %w", cfg.Region, err)
	}
	if len(zones.Names) < availabilityZoneCount {
		return awsAccount{}, nil, fmt.Errorf("region %s has %d availability zones without opt-in; the program needs %d",
			cfg.Region, len(zones.Names), availabilityZoneCount)
	}
	account := awsAccount{
		AccountID: identity.AccountId,
		Partition: partition.Partition,
		Region:    cfg.Region,
		DNSSuffix: partition.DnsSuffix,
	}
	if cfg.RolePermissionsBoundary != "" {
		account.RoleBoundary = account.arn("iam", "", "policy/"+cfg.RolePermissionsBoundary)
	}
	if len(cfg.AvailabilityZones) == 0 {
		return account, zones.Names[:availabilityZoneCount], nil
	}
	var problems []Problem
	for _, zone := range cfg.AvailabilityZones {
		if !slices.Contains(zones.Names, zone) {
			problems = append(problems, Problem{Key: "availabilityZones", Value: zone,
				Allowed: "a zone " + cfg.Region + " offers this account without opt-in: " + strings.Join(zones.Names, ", ")})
		}
	}
	if len(problems) > 0 {
		return awsAccount{}, nil, &ConfigError{Problems: problems}
	}
	return account, cfg.AvailabilityZones, nil
}

// replications are the DR copies of the buckets, none without a DR region.
func replications(dr *DisasterRecovery) []Replication {
	if dr == nil {
		return nil
	}
	return dr.Replications
}
