package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// This file is the disaster-recovery region: copies, in a second region, of what the stack
// cannot rebuild. The database's automated backups (database.go) and the secrets the team
// fills (redeploy.go) are copied by their own areas, with the key made here; this area makes
// the key, the replicas of the data buckets and of the image repositories, and the buckets'
// replication (the images' is an account setting, accountsettings.go). Not copied: the cache, which holds what the backend computes
// again (a copy, an ElastiCache global datastore, would need larger node types than the stack
// runs and double the cache's cost for data a cold cache rebuilds) and its AUTH token, which a
// cache rebuilt in the DR region gets anew; the access logs; and the database's master
// password, a secret RDS owns, which a database restored there gets anew.

// DisasterRecoveryArgs names the region of the copies and what is copied there.
type DisasterRecoveryArgs struct {
	// Account is the account and the stack's own region; Region is the DR region, and Provider
	// the explicit provider that creates resources there (the same default tags).
	Account  awsAccount
	Region   string
	Provider pulumi.ProviderResource
	Prefix   string
	// Protect, RetainKey, ForceDestroy and KeyDeletionWindowDays are what the stack's own
	// buckets and key have: the DR key is kept on destroy when the data key is, since the
	// database's replicated backups outlive the stack as its own backups do.
	Protect               bool
	RetainKey             bool
	ForceDestroy          bool
	KeyDeletionWindowDays int
	// Buckets are replicated, each into a bucket of its name with "-<region>" appended;
	// SourceKeyArn encrypts them in the stack's region.
	Buckets      []DataBucket
	SourceKeyArn pulumi.StringInput
	// Registry is how the stack's image repositories are made; each gets a replica of its name
	// in the DR region, which the registry's replication fills.
	Registry *StorageArgs
}

// Replication is one bucket's replication rule, as S3's replication metrics name it.
type Replication struct {
	Purpose                   string
	SourceBucket, Destination pulumi.StringInput
	RuleID                    string
}

// DisasterRecovery is the DR region's key and bucket replicas, and the images' replication.
type DisasterRecovery struct {
	pulumi.ResourceState

	// KeyArn encrypts the copies in the DR region: the database's backups, the secrets'
	// replicas and the buckets' replicas.
	KeyArn pulumi.StringOutput
	// BucketNames are the replicas, by purpose ("uploads").
	BucketNames map[string]pulumi.StringOutput
	// Replications are the buckets' replication rules, for their failure alarms.
	Replications []Replication
	// replicaRepositories are the image repositories' replicas, which the registry's
	// replication waits for.
	replicaRepositories []pulumi.Resource
}

// RegionCopies is what an area needs to copy its stores into the DR region; nil without one.
type RegionCopies struct {
	Region   string
	Provider pulumi.ProviderResource
	KeyArn   pulumi.StringInput
}

// drAccount is the account as seen from the DR region: ARNs and service names there.
func (a *DisasterRecoveryArgs) drAccount() awsAccount {
	dr := a.Account
	dr.Region = a.Region
	return dr
}

// NewDisasterRecovery creates the DR region's key, a replica of every data bucket and the
// registry's replication of the image repositories into the DR region.
func NewDisasterRecovery(ctx *pulumi.Context, name string, args *DisasterRecoveryArgs, opts ...pulumi.ResourceOption) (*DisasterRecovery, error) {
	d := &DisasterRecovery{BucketNames: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("coldchain:index:DisasterRecovery", name, d, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(d)
	there := pulumi.Composite(child, pulumi.Provider(args.Provider))

	key, err := kms.NewKey(ctx, "dr-data", &kms.KeyArgs{
		Description:          pulumi.String("Encrypts the copies of the data of " + args.Prefix + " in " + args.Region),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(args.KeyDeletionWindowDays),
		Policy:               dataKeyPolicy(args.drAccount()),
	}, there, pulumi.Protect(args.Protect), pulumi.RetainOnDelete(args.RetainKey))
	if err != nil {
		return nil, fmt.Errorf("creating the DR region's key: %w", err)
	}
	if _, err := kms.NewAlias(ctx, "dr-data", &kms.AliasArgs{
		Name:        pulumi.String("alias/" + args.Prefix + "-data"),
		TargetKeyId: key.KeyId,
	}, there); err != nil {
		return nil, fmt.Errorf("creating the DR region's key alias: %w", err)
	}
	d.KeyArn = key.Arn

	if err := d.replicateBuckets(ctx, args, key.Arn, child, there); err != nil {
		return nil, err
	}
	if err := d.replicateImages(ctx, args, key.Arn, there); err != nil {
		return nil, err
	}
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"keyArn": d.KeyArn})
}

// newReplicaLogs creates the DR region's logs bucket, which receives the replicas' server access
// logs: the logs bucket's namesake there, hardened, versioned and expired like it.
func (d *DisasterRecovery) newReplicaLogs(ctx *pulumi.Context, args *DisasterRecoveryArgs, replicas []string, there pulumi.ResourceOption) (*bucket, error) {
	s := args.Registry
	name := replicaName(bucketName(s.LogsBucket, s.Prefix, "logs", s.Account.AccountID), args.Region)
	dr := args.drAccount()
	return newBucket(ctx, "logs-dr", &bucketSpec{
		name:         name,
		versioned:    true,
		protect:      args.Protect,
		forceDestroy: args.ForceDestroy,
		lifecycle: []s3.BucketLifecycleConfigurationV2RuleArgs{
			expireRule("expire-logs", s.LogsExpirationDays),
			expireOldVersionsRule(s.NoncurrentVersionExpirationDays),
		},
		policy: []statement{s3AccessLogDelivery(dr, name, replicas...)},
	}, there)
}

// replicateBuckets creates each bucket's replica in the DR region (versioned, encrypted with
// the DR key, hardened like the source) and the replication that fills it, with a role that
// may do only that.
func (d *DisasterRecovery) replicateBuckets(ctx *pulumi.Context, args *DisasterRecoveryArgs, drKeyArn pulumi.StringOutput,
	child, there pulumi.ResourceOption) error {
	if len(args.Buckets) == 0 {
		return nil
	}
	replicas := map[string]*bucket{}
	var sources, sourceObjects, replicaObjects []pulumi.StringInput
	var sourceNames, replicaNames []string
	for _, b := range args.Buckets {
		replicaNames = append(replicaNames, replicaName(b.Name, args.Region))
	}
	logs, err := d.newReplicaLogs(ctx, args, replicaNames, there)
	if err != nil {
		return err
	}
	replicaNames = nil
	for _, b := range args.Buckets {
		replica, err := newBucket(ctx, b.Purpose+"-dr", &bucketSpec{
			name:         replicaName(b.Name, args.Region),
			keyArn:       drKeyArn,
			versioned:    true,
			protect:      args.Protect,
			forceDestroy: args.ForceDestroy,
			lifecycle:    b.Lifecycle,
			// Server access logging (Security Hub S3.9), to a bucket of the DR region: S3
			// delivers access logs only within a region.
			logTo: logs.ready,
		}, there)
		if err != nil {
			return err
		}
		replicas[b.Purpose] = replica
		d.BucketNames[b.Purpose] = replica.name
		sources = append(sources, b.Arn)
		sourceObjects = append(sourceObjects, pulumi.Sprintf("%s/*", b.Arn))
		sourceNames = append(sourceNames, b.Name)
		replicaNames = append(replicaNames, replicaName(b.Name, args.Region))
		replicaObjects = append(replicaObjects, pulumi.Sprintf("%s/*", replica.arn))
	}

	dr := args.drAccount()
	role, err := newServiceRole(ctx, args.Account, "replication",
		"Lets S3 replicate the data buckets of "+args.Prefix+" to "+args.Region, "s3.amazonaws.com", "",
		[]statement{
			{Sid: "ReadReplicationConfiguration", Actions: []string{"s3:GetReplicationConfiguration", "s3:ListBucket"}, Resources: sources},
			{Sid: "ReadSourceVersions", Resources: sourceObjects,
				Actions: []string{"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"}},
			{Sid: "WriteReplicas", Actions: []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}, Resources: replicaObjects},
			{Sid: "DecryptSources", Actions: []string{"kms:Decrypt"}, Resources: []pulumi.StringInput{args.SourceKeyArn},
				Conditions: viaS3(args.Account, sourceNames)},
			{Sid: "EncryptReplicas", Actions: []string{"kms:Encrypt", "kms:GenerateDataKey"}, Resources: []pulumi.StringInput{drKeyArn},
				Conditions: viaS3(dr, replicaNames)},
		}, child)
	if err != nil {
		return err
	}
	for _, b := range args.Buckets {
		d.Replications = append(d.Replications, Replication{Purpose: b.Purpose, SourceBucket: pulumi.String(b.Name),
			Destination: replicas[b.Purpose].name, RuleID: replicationRuleID(args.Region)})
	}
	for _, b := range args.Buckets {
		replica := replicas[b.Purpose]
		if _, err := s3.NewBucketReplicationConfig(ctx, b.Purpose, &s3.BucketReplicationConfigArgs{
			Bucket: pulumi.String(b.Name),
			Role:   role.role.Arn,
			Rules: s3.BucketReplicationConfigRuleArray{&s3.BucketReplicationConfigRuleArgs{
				Id:       pulumi.String(replicationRuleID(args.Region)),
				Status:   pulumi.String("Enabled"),
				Priority: pulumi.Int(1),
				// Every object, and deletions too: a replica that keeps what the source deleted
				// on purpose would restore it after a failover. Old versions stay recoverable
				// in both buckets for their retention.
				Filter:                  &s3.BucketReplicationConfigRuleFilterArgs{Prefix: pulumi.String("")},
				DeleteMarkerReplication: &s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs{Status: pulumi.String("Enabled")},
				SourceSelectionCriteria: &s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs{
					SseKmsEncryptedObjects: &s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs{
						Status: pulumi.String("Enabled"),
					},
				},
				Destination: &s3.BucketReplicationConfigRuleDestinationArgs{
					Bucket:                  replica.arn,
					EncryptionConfiguration: &s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs{ReplicaKmsKeyId: drKeyArn},
					StorageClass:            pulumi.String("STANDARD"),
					// S3 Replication metrics (in CloudWatch, per rule): the failures page
					// (NewAlarms); pending bytes and latency show on the dashboard's side.
					Metrics: &s3.BucketReplicationConfigRuleDestinationMetricsArgs{Status: pulumi.String("Enabled")},
				},
			}},
			// Replication needs versioning on both buckets, and a role that may act.
			// One per bucket: deleted first, so that a replacement is not removed by the delete of
			// the old one. Protected like the buckets: a change of a bucket's name or of the DR
			// region stops "pulumi up" instead of silently ending the copy.
		}, child, oncePerParent, pulumi.Protect(args.Protect),
			pulumi.DependsOn(append([]pulumi.Resource{b.Versioning, replica.versioning}, role.after()...))); err != nil {
			return fmt.Errorf("creating the replication of the %s bucket: %w", b.Purpose, err)
		}
	}
	return nil
}

// viaS3 limits a key permission to S3's use of it in an account's region, for the objects of
// the given buckets: with an S3 Bucket Key the encryption context is the bucket's ARN, for an
// object written without one (before the stack adopted the bucket) the object's.
func viaS3(account awsAccount, buckets []string) map[string]map[string]any {
	var context []string
	for _, name := range buckets {
		arn := fmt.Sprintf("arn:%s:s3:::%s", account.Partition, name)
		context = append(context, arn, arn+"/*")
	}
	return map[string]map[string]any{
		"StringEquals": {"kms:ViaService": fmt.Sprintf("s3.%s.%s", account.Region, account.DNSSuffix)},
		"ArnLike":      {"kms:EncryptionContext:aws:s3:arn": context},
	}
}

// replicateImages creates each repository's replica in the DR region. The replicas are
// declared here rather than left to ECR, which would create them with AES-256 encryption,
// mutable tags and no lifecycle policy: these are encrypted with the DR key, immutable,
// protected, and expire images by the source's rules, never the deployed one. The registry's
// replication that fills them is an account setting (accountsettings.go): one per account and
// region, declared by the stack that owns the account's settings.
func (d *DisasterRecovery) replicateImages(ctx *pulumi.Context, args *DisasterRecoveryArgs, drKeyArn pulumi.StringInput, there pulumi.ResourceOption) error {
	for _, service := range sortedKeys(args.Registry.Repositories) {
		spec := args.Registry.Repositories[service]
		replica, err := newRepository(ctx, service+"-dr", spec, args.Registry, drKeyArn, true, there)
		if err != nil {
			return err
		}
		d.replicaRepositories = append(d.replicaRepositories, replica)
	}
	return nil
}

// secretReplicas are a secret's replicas in the DR region, encrypted with its key; none
// without copies.
func (c *RegionCopies) secretReplicas() secretsmanager.SecretReplicaArray {
	if c == nil {
		return nil
	}
	return secretsmanager.SecretReplicaArray{&secretsmanager.SecretReplicaArgs{
		Region: pulumi.String(c.Region), KmsKeyId: c.KeyArn,
	}}
}

// replicationRuleID names a bucket's replication rule by where it copies to.
func replicationRuleID(region string) string { return "to-" + region }
