// Command coldchain is the Pulumi program of the Cold Chain Dispatch System's AWS infrastructure.
//
// "pulumi up" runs it against the Pulumi engine; "go run . plan" runs it offline, against the
// in-process engine of internal/offline, and prints what it would create: every resource the
// program registers, and the children of the awsx VPC modeled from awsx's source.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

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

  go run . plan [--stack NAME] [--json] [-c key=value ...]
      print every resource "pulumi up" would create on an empty stack, offline
        --stack NAME    the stack whose Pulumi.NAME.yaml is planned (default production)
        --json          print the plan as JSON instead of a tree
        -c key=value    override a config value (repeatable; bare keys get the project's namespace)
  go run . help
      print this text

README.md says more: the configuration keys, the runbook, the tests.
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
// offline engine (internal/offline), with what deploy refuses reported as warnings.
func planStack(project, stack string, raw map[string]string) (*offline.Plan, error) {
	cfg, err := loadConfig(project, stack, raw)
	if err != nil {
		return nil, err
	}
	var warnings []string
	p, err := offline.Run(project, stack, raw, stackProgram(cfg, false, func(w string) { warnings = append(warnings, w) }))
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
		for _, b := range blockers {
			warn("pulumi up would stop here: " + b.String())
		}
		for _, w := range cfg.warnings() {
			warn(w)
		}
		return newStack(ctx, cfg)
	}
}

// newStack wires the areas in the order data flows through them (config, network, storage and
// database, the alarm topic, services, autoscaling and alarms) and exports the stack outputs.
// The alarm topic comes before the services because their deployment alarms notify it.
func newStack(ctx *pulumi.Context, cfg *Config) error {
	provider, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region:            pulumi.String(cfg.Region),
		Profile:           optionalString(cfg.Profile),
		AllowedAccountIds: optionalStrings(cfg.AllowedAccountIDs),
		DefaultTags:       &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(cfg.DefaultTags())},
	})
	if err != nil {
		return fmt.Errorf("creating AWS provider: %w", err)
	}
	env, zones, err := lookupAccount(ctx, cfg, provider)
	if err != nil {
		return err
	}
	inArea := pulumi.Providers(provider)

	network, err := NewNetwork(ctx, "network", &NetworkArgs{
		Env:                  env,
		Prefix:               cfg.Prefix(),
		CidrBlock:            cfg.VpcCidr,
		AvailabilityZones:    zones,
		NatGateways:          cfg.NatGateways,
		BackendPort:          cfg.Backend.Port,
		FrontendPort:         cfg.Frontend.Port,
		FlowLogRetentionDays: cfg.FlowLogRetentionDays,
	}, inArea)
	if err != nil {
		return err
	}

	storage, err := NewStorage(ctx, "storage", &StorageArgs{
		Env:                             env,
		Prefix:                          cfg.Prefix(),
		UploadsBucket:                   cfg.UploadsBucketName,
		BackupsBucket:                   cfg.BackupsBucketName,
		LogsBucket:                      cfg.LogsBucketName,
		Protect:                         cfg.Protect,
		RetainKey:                       cfg.FinalSnapshot,
		ForceDestroy:                    cfg.ForceDestroy,
		KeyDeletionWindowDays:           cfg.KMSDeletionWindowDays,
		NoncurrentVersionExpirationDays: cfg.NoncurrentVersionExpirationDays,
		BackupsArchiveAfterDays:         cfg.BackupsArchiveAfterDays,
		LogsExpirationDays:              cfg.LogsExpirationDays,
		EcrMaxImages:                    cfg.EcrMaxImages,
		EcrImageTagMutability:           cfg.EcrImageTagMutability,
		DeployedImageTags:               map[string]string{"backend": cfg.Backend.ImageTag, "frontend": cfg.Frontend.ImageTag},
	}, inArea)
	if err != nil {
		return err
	}

	database, err := NewDatabase(ctx, "database", &DatabaseArgs{
		Prefix:                  cfg.Prefix(),
		Config:                  cfg,
		AvailabilityZones:       zones,
		SubnetIDs:               network.IsolatedSubnetIDs,
		DatabaseSecurityGroupID: network.DatabaseSecurityGroupID,
		RedisSecurityGroupID:    network.RedisSecurityGroupID,
		KeyArn:                  storage.KeyArn,
	}, inArea)
	if err != nil {
		return err
	}

	alarmTopic, err := NewAlarmTopic(ctx, "alarm-topic", &AlarmTopicArgs{
		Env:                   env,
		Prefix:                cfg.Prefix(),
		Email:                 cfg.AlarmEmail,
		Protect:               cfg.Protect,
		KeyDeletionWindowDays: cfg.KMSDeletionWindowDays,
	}, inArea)
	if err != nil {
		return err
	}

	services, err := NewServices(ctx, "services", &ServicesArgs{
		Env:                     env,
		Prefix:                  cfg.Prefix(),
		Config:                  cfg,
		VpcID:                   network.VpcID,
		PublicSubnetIDs:         network.PublicSubnetIDs,
		PrivateSubnetIDs:        network.PrivateSubnetIDs,
		AlbSecurityGroupID:      network.AlbSecurityGroupID,
		BackendSecurityGroupID:  network.BackendSecurityGroupID,
		FrontendSecurityGroupID: network.FrontendSecurityGroupID,
		LogsBucketName:          storage.LogsBucketName,
		UploadsBucketName:       storage.UploadsBucketName,
		UploadsBucketArn:        storage.UploadsBucketArn,
		KeyArn:                  storage.KeyArn,
		BackendRepositoryURL:    storage.BackendRepositoryURL,
		BackendRepositoryArn:    storage.BackendRepositoryArn,
		FrontendRepositoryURL:   storage.FrontendRepositoryURL,
		FrontendRepositoryArn:   storage.FrontendRepositoryArn,
		Database:                database,
		AlarmTopicArn:           alarmTopic.TopicArn,
	}, inArea)
	if err != nil {
		return err
	}

	if _, err := NewAutoscaling(ctx, "autoscaling", &AutoscalingArgs{
		ClusterName:      services.ClusterName,
		AlbArnSuffix:     services.AlbArnSuffix,
		Backend:          services.Backend,
		Frontend:         services.Frontend,
		ScaleInCooldown:  cfg.ScaleInCooldown,
		ScaleOutCooldown: cfg.ScaleOutCooldown,
	}, inArea); err != nil {
		return err
	}

	alarms, err := NewAlarms(ctx, "alarms", &AlarmsArgs{
		Env:                 env,
		Prefix:              cfg.Prefix(),
		TopicArn:            alarmTopic.TopicArn,
		Thresholds:          cfg.Alarms,
		ClusterName:         services.ClusterName,
		AlbArnSuffix:        services.AlbArnSuffix,
		Backend:             services.Backend,
		Frontend:            services.Frontend,
		DBInstanceID:        database.InstanceID,
		RedisMemberClusters: database.RedisMemberClusters,
	}, inArea)
	if err != nil {
		return err
	}

	ctx.Export("applicationUrl", services.URL)
	ctx.Export("albDnsName", services.AlbDNSName)
	ctx.Export("ecsClusterName", services.ClusterName)
	for name, svc := range map[string]ServiceRef{"backend": services.Backend, "frontend": services.Frontend} {
		if svc.Deployed { // released: its image tag is set
			ctx.Export(name+"ServiceName", svc.Name)
			ctx.Export(name+"TaskDefinitionArn", svc.TaskDefinitionArn)
		}
	}
	ctx.Export("vpcId", network.VpcID)
	ctx.Export("publicSubnetIds", network.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", network.PrivateSubnetIDs)
	ctx.Export("isolatedSubnetIds", network.IsolatedSubnetIDs)
	ctx.Export("albSecurityGroupId", network.AlbSecurityGroupID)
	ctx.Export("backendSecurityGroupId", network.BackendSecurityGroupID)
	ctx.Export("rdsSecurityGroupId", network.DatabaseSecurityGroupID)
	ctx.Export("databaseEndpoint", database.Address)
	ctx.Export("databasePort", database.Port)
	ctx.Export("databaseName", pulumi.String(database.Name))
	ctx.Export("databaseUsername", pulumi.String(database.Username))
	ctx.Export("databaseSecretArn", database.SecretArn)
	ctx.Export("backendSecretArns", services.BackendSecretArns)
	ctx.Export("redisPrimaryEndpoint", database.RedisAddress)
	if cfg.FinalSnapshot {
		ctx.Export("databaseFinalSnapshotName", database.FinalSnapshotName)
		ctx.Export("redisFinalSnapshotName", database.RedisFinalSnapshotName)
	}
	ctx.Export("uploadsBucketName", storage.UploadsBucketName)
	ctx.Export("backupsBucketName", storage.BackupsBucketName)
	ctx.Export("logsBucketName", storage.LogsBucketName)
	ctx.Export("backendEcrRepositoryUrl", storage.BackendRepositoryURL)
	ctx.Export("frontendEcrRepositoryUrl", storage.FrontendRepositoryURL)
	logGroups := pulumi.StringMap{"flowLogs": network.FlowLogGroup}
	for _, m := range []pulumi.StringMap{services.LogGroups, database.LogGroups} {
		for k, v := range m {
			logGroups[k] = v
		}
	}
	ctx.Export("logGroups", logGroups)
	ctx.Export("alarmTopicArn", alarmTopic.TopicArn)
	ctx.Export("dashboardName", alarms.DashboardName)
	return nil
}

// lookupAccount asks AWS which account, partition and availability zones the provider deploys
// into. The first availabilityZoneCount zones that need no opt-in are used; their order is AWS's, which is stable.
func lookupAccount(ctx *pulumi.Context, cfg *Config, provider *aws.Provider) (awsEnv, []string, error) {
	use := pulumi.Provider(provider)
	identity, err := aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{}, use)
	if err != nil {
		return awsEnv{}, nil, fmt.Errorf("looking up the AWS account: %w", err)
	}
	partition, err := aws.GetPartition(ctx, &aws.GetPartitionArgs{}, use)
	if err != nil {
		return awsEnv{}, nil, fmt.Errorf("looking up the AWS partition: %w", err)
	}
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State: pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{"opt-in-not-required"}},
		},
	}, use)
	if err != nil {
		return awsEnv{}, nil, fmt.Errorf("looking up availability zones in %s: %w", cfg.Region, err)
	}
	if len(zones.Names) < availabilityZoneCount {
		return awsEnv{}, nil, fmt.Errorf("region %s has %d availability zones without opt-in; the program needs %d",
			cfg.Region, len(zones.Names), availabilityZoneCount)
	}
	env := awsEnv{
		AccountID: identity.AccountId,
		Partition: partition.Partition,
		Region:    cfg.Region,
		DNSSuffix: partition.DnsSuffix,
	}
	return env, zones.Names[:availabilityZoneCount], nil
}

// optionalString is nil for "", so that an unset value is not sent as an empty string.
func optionalString(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}

// optionalStrings is nil for an empty list, so that "no restriction" is not sent as [].
func optionalStrings(items []string) pulumi.StringArrayInput {
	if len(items) == 0 {
		return nil
	}
	return pulumi.ToStringArray(items)
}

// ptr returns a pointer to v, for the SDKs' optional plain arguments.
func ptr[T any](v T) *T { return &v }
