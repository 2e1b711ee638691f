package main

import (
	"coldchain/internal/limits"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DatabaseArgs configures RDS PostgreSQL and ElastiCache Redis. Inputs wired from other areas
// are outputs; what decides how resources are made is plain config.
type DatabaseArgs struct {
	// Prefix names the database instance, its log groups and the Redis log group.
	Prefix string
	// Settings are the sizes, versions, windows and snapshot settings.
	Settings DatabaseConfig
	// Protect protects the database, the cache and the AUTH token's secret against destroy.
	Protect bool
	// LogRetentionDays keeps the database's and the cache's logs.
	LogRetentionDays int
	// SecretRecoveryDays is the recovery window of the AUTH token's secret (0: none).
	SecretRecoveryDays int
	// AvailabilityZones are the zones the cache nodes are spread over.
	AvailabilityZones []string
	// SubnetIDs are the isolated subnets both stores live in.
	SubnetIDs pulumi.StringArrayInput
	// DatabaseSecurityGroupID and RedisSecurityGroupID admit only the backend.
	DatabaseSecurityGroupID pulumi.StringInput
	RedisSecurityGroupID    pulumi.StringInput
	// KeyArn is the customer-managed key for storage, snapshots, secrets and insights.
	KeyArn pulumi.StringInput
	// Copies, when set, replicates the database's automated backups into the
	// disaster-recovery region. The AUTH token is not copied: a cache rebuilt there gets its
	// own.
	Copies *RegionCopies
}

// DataTier is what the services need to reach the data tier.
type DataTier struct {
	// Address and Port reach PostgreSQL; Name and Username are the application's database and
	// the master user; SecretArn is the RDS-managed secret holding the password.
	Address   pulumi.StringOutput
	Port      pulumi.IntOutput
	Name      string
	Username  string
	SecretArn pulumi.StringOutput
	// RedisAddress is the primary endpoint; RedisAuthSecretArn the secret with the AUTH token.
	RedisAddress       pulumi.StringOutput
	RedisAuthSecretArn pulumi.StringOutput
}

// Database is what the services and the alarms need of the data tier.
type Database struct {
	pulumi.ResourceState
	// DataTier is what the services reach.
	DataTier

	// InstanceID is the DB instance identifier, the DBInstanceIdentifier of its metrics.
	InstanceID pulumi.StringOutput
	// RedisMemberClusters are the cache clusters of the group, the CacheClusterId of their
	// metrics: ElastiCache names them "<group id>-001", "-002", ...
	RedisMemberClusters []pulumi.StringOutput

	// FinalSnapshotName and RedisFinalSnapshotName are the snapshots a destroy leaves, when
	// finalSnapshot is on.
	FinalSnapshotName      pulumi.StringOutput
	RedisFinalSnapshotName pulumi.StringOutput
	snapshotSuffix         pulumi.StringOutput

	// LogGroups are the database's and the cache's log groups: "postgresql", "upgrade", "redis".
	LogGroups pulumi.StringMap
}

// NewDatabase creates the PostgreSQL instance and the Redis replication group in the isolated
// subnets, reachable only through their security groups.
func NewDatabase(ctx *pulumi.Context, name string, args *DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	d := &Database{DataTier: DataTier{Name: args.Settings.Name, Username: args.Settings.Username}, LogGroups: pulumi.StringMap{}}
	if err := ctx.RegisterComponentResource("coldchain:index:Database", name, d, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(d)
	suffix, err := newFinalSnapshotSuffix(ctx, args.Settings.FinalSnapshot, child)
	if err != nil {
		return nil, err
	}
	d.snapshotSuffix = suffix
	if err := d.newPostgres(ctx, args, child); err != nil {
		return nil, err
	}
	if err := d.newRedis(ctx, args, child); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"address":            d.Address,
		"port":               d.Port,
		"secretArn":          d.SecretArn,
		"redisAddress":       d.RedisAddress,
		"redisAuthSecretArn": d.RedisAuthSecretArn,
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// postgresParameters are set on the instance's parameter group.
var postgresParameters = map[string]string{
	// Refuse every connection that is not TLS.
	"rds.force_ssl": "1",
	// Log statements slower than a second, for the slow-query review.
	"log_min_duration_statement": "1000",
}

// postgresLogExports are the logs RDS publishes to CloudWatch Logs.
var postgresLogExports = []string{"postgresql", "upgrade"}

// newFinalSnapshotSuffix is a random suffix for the final snapshots' names, drawn once per life
// of the stack: a snapshot name is unique in the account, so a fixed one would make the destroy
// of a re-created stack fail on the snapshot the previous destroy left. Changing a final
// snapshot's name replaces nothing; it is only read when the store is deleted.
func newFinalSnapshotSuffix(ctx *pulumi.Context, finalSnapshot bool, child pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if !finalSnapshot {
		return pulumi.StringOutput{}, nil
	}
	id, err := random.NewRandomId(ctx, "final-snapshot", &random.RandomIdArgs{ByteLength: pulumi.Int(4)}, child)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("drawing the final snapshots' suffix: %w", err)
	}
	return id.Hex, nil
}

func (d *Database) newPostgres(ctx *pulumi.Context, args *DatabaseArgs, child pulumi.ResourceOption) error {
	c := args.Settings
	subnets, err := rds.NewSubnetGroup(ctx, "postgres", &rds.SubnetGroupArgs{Description: args.subnetsDescription(), SubnetIds: args.SubnetIDs}, child)
	if err != nil {
		return fmt.Errorf("creating database subnet group: %w", err)
	}

	var parameters rds.ParameterGroupParameterArray
	for _, key := range sortedKeys(postgresParameters) {
		if _, theirs := c.Parameters[key]; theirs {
			continue // the team's value (validation keeps rds.force_ssl the program's)
		}
		parameters = append(parameters, &rds.ParameterGroupParameterArgs{
			Name: pulumi.String(key), Value: pulumi.String(postgresParameters[key]),
		})
	}
	for _, key := range sortedKeys(c.Parameters) {
		parameters = append(parameters, &rds.ParameterGroupParameterArgs{
			Name: pulumi.String(key), Value: pulumi.String(c.Parameters[key]), ApplyMethod: pulumi.String("pending-reboot"),
		})
	}
	params, err := rds.NewParameterGroup(ctx, "postgres", &rds.ParameterGroupArgs{
		Family:      pulumi.String(limits.PostgresFamilies[c.EngineVersion]),
		Description: pulumi.String("PostgreSQL " + c.EngineVersion + " with TLS forced"),
		Parameters:  parameters,
		// The description only documents the group, and changing it replaces the group: an
		// adopted group keeps Terraform's.
	}, child, pulumi.IgnoreChanges([]string{"description"}))
	if err != nil {
		return fmt.Errorf("creating database parameter group: %w", err)
	}

	// RDS would create the log groups of its exports itself, without a retention; creating
	// them first, under the names RDS uses, gives them one. That is why the identifier is set
	// rather than autonamed.
	identifier := c.Identifier
	var logGroups []pulumi.Resource
	for _, export := range postgresLogExports {
		// Their names follow the identifier, so renaming the instance replaces them; a
		// protected stack keeps the old group, and its history, until its retention ends
		// (docs/changing-a-stack.md).
		group, err := cloudwatch.NewLogGroup(ctx, "postgres-"+export, &cloudwatch.LogGroupArgs{
			Name:            pulumi.Sprintf("/aws/rds/instance/%s/%s", identifier, export),
			RetentionInDays: pulumi.Int(args.LogRetentionDays),
		}, child, pulumi.RetainOnDelete(args.Protect))
		if err != nil {
			return fmt.Errorf("creating database %s log group: %w", export, err)
		}
		logGroups = append(logGroups, group)
		d.LogGroups[export] = group.Name
	}

	var finalSnapshot pulumi.StringPtrInput
	if c.FinalSnapshot {
		finalSnapshot = pulumi.Sprintf("%s-final-%s", identifier, d.snapshotSuffix)
		d.FinalSnapshotName = finalSnapshot.ToStringPtrOutput().Elem()
	}
	db, err := rds.NewInstance(ctx, "postgres", &rds.InstanceArgs{
		Identifier:          pulumi.String(identifier),
		Engine:              pulumi.String("postgres"),
		EngineVersion:       pulumi.String(c.EngineVersion),
		InstanceClass:       pulumi.String(c.InstanceClass),
		AllocatedStorage:    pulumi.Int(c.AllocatedStorage),
		MaxAllocatedStorage: pulumi.Int(c.MaxAllocatedStorage),
		StorageType:         pulumi.String("gp3"),
		StorageEncrypted:    pulumi.Bool(true),
		KmsKeyId:            storageKey(c.KmsKey, args.KeyArn),
		// A database restored in the DR region from the copy of another's backups; RDS
		// restores their latest restorable time, and only a new instance is restored.
		RestoreToPointInTime: restoreFrom(c.RestoreFrom),
		// A restored database keeps its source's name.
		DbName:   databaseName(c),
		Username: pulumi.String(c.Username),
		// RDS generates the password and keeps it in Secrets Manager, encrypted with our key:
		// it is never in config, in the program or in the Pulumi state.
		ManageMasterUserPassword: pulumi.Bool(true),
		MasterUserSecretKmsKeyId: args.KeyArn,
		Port:                     pulumi.Int(postgresPort),
		DbSubnetGroupName:        subnets.Name,
		VpcSecurityGroupIds:      pulumi.StringArray{args.DatabaseSecurityGroupID},
		ParameterGroupName:       params.Name,
		PubliclyAccessible:       pulumi.Bool(false),
		MultiAz:                  pulumi.Bool(c.MultiAZ),
		BackupRetentionPeriod:    pulumi.Int(c.BackupRetentionDays),
		BackupWindow:             pulumi.String(c.BackupWindow),
		MaintenanceWindow:        pulumi.String(c.MaintenanceWindow),
		CopyTagsToSnapshot:       pulumi.Bool(true),
		DeletionProtection:       pulumi.Bool(c.DeletionProtection),
		SkipFinalSnapshot:        pulumi.Bool(!c.FinalSnapshot),
		FinalSnapshotIdentifier:  finalSnapshot,
		// With a final snapshot, the automated backups also outlive the instance for their
		// retention period; without (staging), destroy removes them with it.
		DeleteAutomatedBackups:           pulumi.Bool(!c.FinalSnapshot),
		AutoMinorVersionUpgrade:          pulumi.Bool(true),
		AllowMajorVersionUpgrade:         pulumi.Bool(false),
		IamDatabaseAuthenticationEnabled: pulumi.Bool(true),
		PerformanceInsightsEnabled:       pulumi.Bool(c.PerformanceInsights),
		// Performance Insights keeps its data under the storage's key: RDS does not change the
		// key of an instance that has one.
		PerformanceInsightsKmsKeyId:        optionalKey(c.PerformanceInsights, storageKey(c.KmsKey, args.KeyArn)),
		PerformanceInsightsRetentionPeriod: optionalInt(c.PerformanceInsights, 7),
		EnabledCloudwatchLogsExports:       pulumi.ToStringArray(postgresLogExports),
	}, child, pulumi.Protect(args.Protect), pulumi.DependsOn(logGroups),
		// The identifier is fixed (see the log groups above), so a replacement must delete the
		// old instance first; protection and deletion protection stop that in production.
		pulumi.DeleteBeforeReplace(true), pulumi.Timeouts(restoreTimeouts(c.RestoreFrom)))
	if err != nil {
		return fmt.Errorf("creating database: %w", err)
	}
	if copies := args.Copies; copies != nil {
		// The automated backups, point-in-time recovery included, copied into the DR region
		// for as long as this region keeps them, and encrypted there with its key: a restore
		// there does not need this region.
		// Every input replaces the replication. Its delete stops the replication of the source
		// instance, so a replacement created first would be stopped by the delete of the old
		// one, leaving no copy while the state says there is one: deleted first. Protected
		// like the database, so that a change of the retention, of the database's identity or
		// of the DR region stops "pulumi up" instead of silently restarting the copy (README,
		// "Changing a stack").
		if _, err := rds.NewInstanceAutomatedBackupsReplication(ctx, "postgres-backups", &rds.InstanceAutomatedBackupsReplicationArgs{
			SourceDbInstanceArn: db.Arn,
			KmsKeyId:            copies.KeyArn,
			RetentionPeriod:     pulumi.Int(c.BackupRetentionDays),
		}, child, pulumi.Provider(copies.Provider), oncePerParent, pulumi.Protect(args.Protect)); err != nil {
			return fmt.Errorf("replicating the database's backups to %s: %w", copies.Region, err)
		}
	}
	d.Address = db.Address
	d.Port = db.Port
	d.InstanceID = db.Identifier
	d.SecretArn = db.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()
	return nil
}

// redisLogTypes are the logs ElastiCache delivers to CloudWatch Logs.
var redisLogTypes = []string{"slow-log", "engine-log"}

// redisAuthTokenLength is within ElastiCache's 16 to 128 characters; letters and digits only,
// so none of the characters AUTH forbids (space, ", /, @) can appear.
const redisAuthTokenLength = 64

func (d *Database) newRedis(ctx *pulumi.Context, args *DatabaseArgs, child pulumi.ResourceOption) error {
	c := args.Settings
	protect := pulumi.Protect(args.Protect)
	token, err := random.NewRandomPassword(ctx, "redis-auth", &random.RandomPasswordArgs{
		Length:  pulumi.Int(redisAuthTokenLength),
		Special: pulumi.Bool(false),
	}, child)
	if err != nil {
		return fmt.Errorf("generating Redis AUTH token: %w", err)
	}
	secret, err := secretsmanager.NewSecret(ctx, "redis-auth", &secretsmanager.SecretArgs{
		Description:          pulumi.String("Redis AUTH token of " + args.Prefix),
		KmsKeyId:             args.KeyArn,
		RecoveryWindowInDays: pulumi.Int(args.SecretRecoveryDays),
	}, child, protect)
	if err != nil {
		return fmt.Errorf("creating Redis AUTH secret: %w", err)
	}
	if _, err := secretsmanager.NewSecretVersion(ctx, "redis-auth", &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: token.Result,
	}, child); err != nil {
		return fmt.Errorf("storing Redis AUTH token: %w", err)
	}
	d.RedisAuthSecretArn = secret.Arn

	subnets, err := elasticache.NewSubnetGroup(ctx, "redis", &elasticache.SubnetGroupArgs{Description: args.subnetsDescription(), SubnetIds: args.SubnetIDs}, child)
	if err != nil {
		return fmt.Errorf("creating Redis subnet group: %w", err)
	}
	logs, err := cloudwatch.NewLogGroup(ctx, "redis", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/aws/elasticache/redis/" + args.Prefix),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
	}, child)
	if err != nil {
		return fmt.Errorf("creating Redis log group: %w", err)
	}
	d.LogGroups["redis"] = logs.Name
	var delivery elasticache.ReplicationGroupLogDeliveryConfigurationArray
	for _, logType := range redisLogTypes {
		delivery = append(delivery, &elasticache.ReplicationGroupLogDeliveryConfigurationArgs{
			Destination:     logs.Name,
			DestinationType: pulumi.String("cloudwatch-logs"),
			LogFormat:       pulumi.String("json"),
			LogType:         pulumi.String(logType),
		})
	}
	var finalSnapshot pulumi.StringPtrInput
	if c.FinalSnapshot {
		finalSnapshot = pulumi.Sprintf("%s-redis-final-%s", args.Prefix, d.snapshotSuffix)
		d.RedisFinalSnapshotName = finalSnapshot.ToStringPtrOutput().Elem()
	}

	group, err := elasticache.NewReplicationGroup(ctx, "redis", &elasticache.ReplicationGroupArgs{
		Description:               pulumi.String("Cache of " + args.Prefix),
		Engine:                    pulumi.String(c.RedisEngine),
		EngineVersion:             pulumi.String(c.RedisEngineVersion),
		NodeType:                  pulumi.String(c.RedisNodeType),
		NumCacheClusters:          pulumi.Int(c.RedisNodes),
		PreferredCacheClusterAzs:  pulumi.ToStringArray(spreadOver(args.AvailabilityZones, c.RedisNodes)),
		AutomaticFailoverEnabled:  pulumi.Bool(c.RedisAutomaticFailover),
		MultiAzEnabled:            pulumi.Bool(c.RedisMultiAZ),
		Port:                      pulumi.Int(redisPort),
		SubnetGroupName:           subnets.Name,
		SecurityGroupIds:          pulumi.StringArray{args.RedisSecurityGroupID},
		AtRestEncryptionEnabled:   pulumi.Bool(true),
		KmsKeyId:                  storageKey(c.RedisKmsKey, args.KeyArn),
		TransitEncryptionEnabled:  pulumi.Bool(true),
		AuthToken:                 token.Result,
		SnapshotRetentionLimit:    pulumi.Int(c.RedisSnapshotRetentionDays),
		SnapshotWindow:            pulumi.String(c.RedisSnapshotWindow),
		MaintenanceWindow:         pulumi.String(c.RedisMaintenanceWindow),
		FinalSnapshotIdentifier:   finalSnapshot,
		AutoMinorVersionUpgrade:   pulumi.Bool(true),
		LogDeliveryConfigurations: delivery,
	}, child, protect)
	if err != nil {
		return fmt.Errorf("creating Redis replication group: %w", err)
	}
	d.RedisAddress = group.PrimaryEndpointAddress
	for i := 1; i <= c.RedisNodes; i++ {
		d.RedisMemberClusters = append(d.RedisMemberClusters, pulumi.Sprintf("%s-%03d", group.ReplicationGroupId, i))
	}
	return nil
}

// spreadOver assigns n nodes to the zones in turn: the primary to the first.
func spreadOver(zones []string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = zones[i%len(zones)]
	}
	return out
}

// optionalKey is key when on, and unset otherwise (RDS rejects a key for a disabled feature).
func optionalKey(on bool, key pulumi.StringPtrInput) pulumi.StringPtrInput {
	if !on {
		return nil
	}
	return key
}

func optionalInt(on bool, v int) pulumi.IntPtrInput {
	if !on {
		return nil
	}
	return pulumi.Int(v)
}

// databaseName is the application's database of a new instance; none for a restored one.
func databaseName(c DatabaseConfig) pulumi.StringPtrInput {
	if c.RestoreFrom != "" {
		return nil
	}
	return pulumi.String(c.Name)
}

// restoreTimeouts gives a restore the hours AWS says it may take: the provider's default 40
// minutes would end the create while RDS goes on restoring, and leave an instance the stack
// does not know, which the next "pulumi up" could not create again.
func restoreTimeouts(backupsArn string) *pulumi.CustomTimeouts {
	if backupsArn == "" {
		return nil
	}
	return &pulumi.CustomTimeouts{Create: "4h"}
}

// restoreFrom is the restore of a new database from automated backups, nil without them.
func restoreFrom(backupsArn string) *rds.InstanceRestoreToPointInTimeArgs {
	if backupsArn == "" {
		return nil
	}
	return &rds.InstanceRestoreToPointInTimeArgs{
		SourceDbInstanceAutomatedBackupsArn: pulumi.String(backupsArn),
		UseLatestRestorableTime:             pulumi.Bool(true),
	}
}

// storageKey is the key that encrypts a data store: the data key, unless config names the key
// an adopted store already has (only a new store changes its key), or ElastiCache's own.
func storageKey(configured string, dataKey pulumi.StringInput) pulumi.StringPtrInput {
	switch configured {
	case "":
		return dataKey.ToStringOutput().ToStringPtrOutput()
	case awsOwnedKey:
		return nil
	}
	return pulumi.String(configured)
}

// subnetsDescription describes the subnet groups of the database and the cache.
func (a *DatabaseArgs) subnetsDescription() pulumi.String {
	return pulumi.String("Isolated subnets of " + a.Prefix)
}
