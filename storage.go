package main

import (
	"coldchain/internal/limits"
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// StorageArgs configures the key, the buckets and the container registries.
type StorageArgs struct {
	// Account is the account, partition and region deployed into.
	Account awsAccount
	// Prefix names the repositories ("<prefix>/backend") and the derived buckets.
	Prefix string
	// UploadsBucket, BackupsBucket and LogsBucket are the bucket names; each defaults to
	// "<prefix>-<purpose>-<account id>", which is globally unique.
	UploadsBucket, BackupsBucket, LogsBucket string
	// Protect protects the key, the data buckets and the repositories against destroy.
	Protect bool
	// RetainKey keeps the data key when the stack is destroyed: set whenever something it
	// encrypts outlives the stack (final snapshots, automated backups), which would otherwise
	// become unreadable once the key's deletion window ends.
	RetainKey bool
	// ForceDestroy lets destroy delete buckets and repositories that still hold objects.
	ForceDestroy bool
	// KeyDeletionWindowDays is the wait (7 to 30 days) before a deleted key is gone.
	KeyDeletionWindowDays int
	// NoncurrentVersionExpirationDays expires old versions of uploads and backups.
	NoncurrentVersionExpirationDays int
	// BackupsArchiveAfterDays moves backups to Glacier Instant Retrieval.
	BackupsArchiveAfterDays int
	// LogsExpirationDays expires access logs.
	LogsExpirationDays int
	// EcrMaxImages is how many images each repository keeps.
	EcrMaxImages int
	// EcrImageTagMutability is "IMMUTABLE" (default) or "MUTABLE".
	EcrImageTagMutability string
	// Repositories are the image repositories to create, one per service.
	Repositories map[string]RepositorySpec
	// EcrEncryption is "KMS" (the data key) or "AES256" (S3-managed keys).
	EcrEncryption string
}

// RepositorySpec is one service's image repository: its name, and the tag the stack runs from
// it ("" before the first release), which the lifecycle policy never expires.
type RepositorySpec struct {
	Name, ReleasedTag string
}

// Repository is one service's image repository.
type Repository struct {
	URL, Arn pulumi.StringOutput
}

// Storage is the data key, the uploads, backups and logs buckets, and the ECR repositories.
type Storage struct {
	pulumi.ResourceState

	// KeyArn is the customer-managed key of the data tier.
	KeyArn pulumi.StringOutput

	UploadsBucketName pulumi.StringOutput
	UploadsBucketArn  pulumi.StringOutput
	BackupsBucketName pulumi.StringOutput
	// LogsBucketName resolves only once the logs bucket's policy is in place, so a load
	// balancer that writes access logs to it is created after the policy that allows it.
	LogsBucketName pulumi.StringOutput

	// Repositories are the services' image repositories, by service.
	Repositories map[string]Repository
	// DataBuckets are the buckets that hold data (uploads, backups), for their copies.
	DataBuckets []DataBucket
}

// DataBucket is a bucket that holds data: its purpose, its name, its ARN, the versioning its
// replication needs and its lifecycle rules, which S3 does not replicate: a replica applies
// them itself.
type DataBucket struct {
	Purpose, Name string
	Arn           pulumi.StringOutput
	Versioning    pulumi.Resource
	Lifecycle     []s3.BucketLifecycleConfigurationV2RuleArgs
}

// NewStorage creates the data key, the three buckets and the two repositories.
func NewStorage(ctx *pulumi.Context, name string, args *StorageArgs, opts ...pulumi.ResourceOption) (*Storage, error) {
	s := &Storage{}
	if err := ctx.RegisterComponentResource("coldchain:index:Storage", name, s, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(s)
	protect := pulumi.Protect(args.Protect)

	key, err := kms.NewKey(ctx, "data", &kms.KeyArgs{
		Description:          pulumi.String("Encrypts the data of " + args.Prefix + ": buckets, database, cache, secrets, images"),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(args.KeyDeletionWindowDays),
		Policy:               dataKeyPolicy(args.Account),
	}, child, protect, pulumi.RetainOnDelete(args.RetainKey))
	if err != nil {
		return nil, fmt.Errorf("creating data key: %w", err)
	}
	if _, err := kms.NewAlias(ctx, "data", &kms.AliasArgs{
		Name:        pulumi.String("alias/" + args.Prefix + "-data"),
		TargetKeyId: key.KeyId,
	}, child); err != nil {
		return nil, fmt.Errorf("creating data key alias: %w", err)
	}
	s.KeyArn = key.Arn

	// The logs bucket comes first: the other two deliver their access logs to it. ALB access
	// logs only support SSE-S3, so it is not encrypted with the key.
	logsName := bucketName(args.LogsBucket, args.Prefix, "logs", args.Account.AccountID)
	logs, err := newBucket(ctx, "logs", &bucketSpec{
		name:         logsName,
		forceDestroy: args.ForceDestroy,
		// The access logs are the record of who read and wrote the data: a renamed logs
		// bucket would be replaced, its logs deleted with it. Protected like the data, so
		// that "pulumi up" stops instead (docs/changing-a-stack.md: copy, switch, retire).
		protect: args.Protect,
		// Versioned like the data buckets (Security Hub S3.14 flags any bucket that is not):
		// a log overwritten or deleted by mistake, or by an intruder covering tracks, stays
		// recoverable until its old version expires.
		versioned: true,
		lifecycle: []s3.BucketLifecycleConfigurationV2RuleArgs{
			expireRule("expire-logs", args.LogsExpirationDays),
			expireOldVersionsRule(args.NoncurrentVersionExpirationDays),
		},
		policy: []statement{
			albLogDelivery(args.Account, logsName),
			s3AccessLogDelivery(args.Account, logsName,
				bucketName(args.UploadsBucket, args.Prefix, "uploads", args.Account.AccountID),
				bucketName(args.BackupsBucket, args.Prefix, "backups", args.Account.AccountID)),
		},
	}, child)
	if err != nil {
		return nil, err
	}
	s.LogsBucketName = logs.ready

	// The uploads and backups buckets hold data: versioned, encrypted with the key, logged,
	// and protected.
	dataBucket := func(purpose, configured string, rules ...s3.BucketLifecycleConfigurationV2RuleArgs) (*bucket, error) {
		name := bucketName(configured, args.Prefix, purpose, args.Account.AccountID)
		lifecycle := append([]s3.BucketLifecycleConfigurationV2RuleArgs{expireOldVersionsRule(args.NoncurrentVersionExpirationDays)}, rules...)
		b, err := newBucket(ctx, purpose, &bucketSpec{
			name:         name,
			keyArn:       key.Arn,
			versioned:    true,
			protect:      args.Protect,
			forceDestroy: args.ForceDestroy,
			logTo:        logs.ready,
			lifecycle:    lifecycle,
		}, child)
		if err == nil {
			s.DataBuckets = append(s.DataBuckets, DataBucket{Purpose: purpose, Name: name, Arn: b.arn, Versioning: b.versioning, Lifecycle: lifecycle})
		}
		return b, err
	}
	uploads, err := dataBucket("uploads", args.UploadsBucket)
	if err != nil {
		return nil, err
	}
	s.UploadsBucketName, s.UploadsBucketArn = uploads.name, uploads.arn
	backups, err := dataBucket("backups", args.BackupsBucket, archiveRule(args.BackupsArchiveAfterDays))
	if err != nil {
		return nil, err
	}
	s.BackupsBucketName = backups.name

	s.Repositories = map[string]Repository{}
	for _, service := range sortedKeys(args.Repositories) {
		r, err := newRepository(ctx, service, args.Repositories[service], args, key.Arn, false, child)
		if err != nil {
			return nil, err
		}
		s.Repositories[service] = Repository{URL: r.RepositoryUrl, Arn: r.Arn}
	}

	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"keyArn": s.KeyArn, "uploadsBucketName": s.UploadsBucketName, "backupsBucketName": s.BackupsBucketName,
		"logsBucketName": s.LogsBucketName,
	})
}

// dataKeyServices are the services that use the data key on a caller's behalf.
var dataKeyServices = []string{"s3", "rds", "elasticache", "secretsmanager", "ecr"}

// dataKeyPolicy lets the account administer the key through IAM, but use it for encryption
// only through the data services, so the key cannot encrypt or decrypt outside them.
func dataKeyPolicy(account awsAccount) pulumi.StringOutput {
	return policyJSON(
		keyAdministration(account),
		keyUseThrough(account, "UseThroughDataServices", []string{
			"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
			"kms:CreateGrant", "kms:ListGrants",
		}, dataKeyServices...),
	)
}

// albLogDelivery lets this region's load balancers write access logs under alb/AWSLogs/<account>/.
func albLogDelivery(account awsAccount, bucket string) statement {
	principal := servicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com")
	if elbAccount, ok := limits.ELBLogAccounts[account.Region]; ok {
		principal = map[string]any{"AWS": fmt.Sprintf("arn:%s:iam::%s:root", account.Partition, elbAccount)}
	}
	return statement{
		Sid:        "AllowLoadBalancerAccessLogs",
		Principals: principal,
		Actions:    []string{"s3:PutObject"},
		Resources: []pulumi.StringInput{pulumi.Sprintf("arn:%s:s3:::%s/%s/AWSLogs/%s/*",
			account.Partition, bucket, albLogPrefix, account.AccountID)},
	}
}

// s3AccessLogDelivery lets S3 write the server access logs of the given buckets of this account.
func s3AccessLogDelivery(account awsAccount, bucket string, sources ...string) statement {
	var sourceArns []string
	for _, source := range sources {
		sourceArns = append(sourceArns, fmt.Sprintf("arn:%s:s3:::%s", account.Partition, source))
	}
	return statement{
		Sid:        "AllowS3ServerAccessLogs",
		Principals: servicePrincipal("logging.s3.amazonaws.com"),
		Actions:    []string{"s3:PutObject"},
		Resources:  []pulumi.StringInput{pulumi.Sprintf("arn:%s:s3:::%s/%s/*", account.Partition, bucket, s3AccessLogPrefix)},
		Conditions: map[string]map[string]any{
			"ArnLike":      {"aws:SourceArn": sourceArns},
			"StringEquals": {"aws:SourceAccount": account.AccountID},
		},
	}
}

// newRepository creates an ECR repository that scans on push, is encrypted with keyArn (or
// with S3-managed keys when args.EcrEncryption is AES256 and kmsOnly is false), and keeps
// only the last images and the deployed one. name is the logical name: the service's, or the
// service's with "-dr" for its replica in the DR region.
func newRepository(ctx *pulumi.Context, name string, spec RepositorySpec, args *StorageArgs, keyArn pulumi.StringInput,
	kmsOnly bool, opts ...pulumi.ResourceOption) (*ecr.Repository, error) {
	encryption := &ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("KMS"), KmsKey: keyArn}
	if args.EcrEncryption == "AES256" && !kmsOnly {
		encryption = &ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("AES256")}
	}
	repo, err := ecr.NewRepository(ctx, name, &ecr.RepositoryArgs{
		Name:               pulumi.String(spec.Name),
		ImageTagMutability: pulumi.String(args.EcrImageTagMutability),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
			ScanOnPush: pulumi.Bool(true),
		},
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{encryption},
		ForceDelete:              pulumi.Bool(args.ForceDestroy),
	}, append(opts, pulumi.Protect(args.Protect),
		// The name is typed by operators (docker push), so it is fixed; a replacement must free
		// the name first.
		pulumi.DeleteBeforeReplace(true))...)
	if err != nil {
		return nil, fmt.Errorf("creating %s repository: %w", name, err)
	}
	policy, err := ecrLifecyclePolicy(args.EcrMaxImages, spec.ReleasedTag)
	if err != nil {
		return nil, err
	}
	// Every release changes the policy (it names the deployed tag), and a change replaces it:
	// deleted first (pulumi-aws's default for the type too), as it exists once per repository.
	if _, err := ecr.NewLifecyclePolicy(ctx, name, &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy:     pulumi.String(policy),
	}, append(opts, oncePerParent)...); err != nil {
		return nil, fmt.Errorf("creating %s repository lifecycle policy: %w", name, err)
	}
	return repo, nil
}

// ecrLifecyclePolicy expires untagged images after a day and keeps the last maxImages images,
// but never the deployed one: a running task definition whose image expired could not start
// another task (a scale-out, a replaced task, a rollback) and would fail with
// CannotPullContainerError. An image a rule selects cannot be expired by a rule of lower
// priority, so the first rule selects the deployed tag and, since a tag names one image, never
// finds more than one to expire. ECR requires the rule selecting "any" tag status to have the
// highest priority number.
func ecrLifecyclePolicy(maxImages int, deployedTag string) (string, error) {
	type selection struct {
		TagStatus      string   `json:"tagStatus"`
		TagPatternList []string `json:"tagPatternList,omitempty"`
		CountType      string   `json:"countType"`
		CountUnit      string   `json:"countUnit,omitempty"`
		CountNumber    int      `json:"countNumber"`
	}
	type rule struct {
		RulePriority int               `json:"rulePriority"`
		Description  string            `json:"description"`
		Selection    selection         `json:"selection"`
		Action       map[string]string `json:"action"`
	}
	expire := map[string]string{"type": "expire"}
	var rules []rule
	if deployedTag != "" {
		rules = append(rules, rule{0, "Never expire the deployed image " + deployedTag,
			selection{TagStatus: "tagged", TagPatternList: []string{deployedTag}, CountType: "imageCountMoreThan", CountNumber: 1}, expire})
	}
	rules = append(rules,
		rule{0, "Expire untagged images a day after they are pushed",
			selection{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: 1}, expire},
		rule{0, fmt.Sprintf("Keep the last %d images", maxImages),
			selection{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: maxImages}, expire})
	for i := range rules {
		rules[i].RulePriority = i + 1
	}
	b, err := json.Marshal(map[string][]rule{"rules": rules})
	if err != nil {
		return "", fmt.Errorf("rendering ECR lifecycle policy: %w", err)
	}
	return string(b), nil
}
