package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// bucket is a private, versioned, encrypted bucket that takes TLS only.
type bucket struct {
	name   pulumi.StringOutput
	arn    pulumi.StringOutput
	policy pulumi.Resource
}

// newPrivateBucket creates a bucket named physical: versioned, encrypted (with key, or S3's own
// key when key is nil), owner-enforced, its public access blocked, TLS only, with grants the
// statements add.
func newPrivateBucket(ctx *pulumi.Context, name, physical string, key *kms.Key, grants func(arn string) []statement,
	opts ...pulumi.ResourceOption) (*bucket, error) {
	b, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{Bucket: pulumi.String(physical)}, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating bucket %s: %w", physical, err)
	}
	child := append(opts[:len(opts):len(opts)], pulumi.DeleteBeforeReplace(true))
	if _, err := s3.NewBucketVersioningV2(ctx, name, &s3.BucketVersioningV2Args{
		Bucket: b.ID(), VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, child...); err != nil {
		return nil, err
	}
	rule := &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{SseAlgorithm: pulumi.String("AES256")}
	if key != nil {
		rule = &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
			SseAlgorithm: pulumi.String("aws:kms"), KmsMasterKeyId: key.Arn,
		}
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: rule, BucketKeyEnabled: pulumi.Bool(key != nil),
		}},
	}, child...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: b.ID(), Rule: &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, child...); err != nil {
		return nil, err
	}
	block, err := s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket: b.ID(), BlockPublicAcls: pulumi.Bool(true), IgnorePublicAcls: pulumi.Bool(true),
		BlockPublicPolicy: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, child...)
	if err != nil {
		return nil, err
	}
	policy, err := s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{
		Bucket: b.ID(),
		Policy: b.Arn.ApplyT(func(arn string) (string, error) {
			return document(append([]statement{{
				Sid: "TLSOnly", Effect: "Deny", Principal: map[string]any{"AWS": "*"}, Actions: []string{"s3:*"},
				Resources: []string{arn, arn + "/*"}, Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
			}}, grants(arn)...)...)
		}).(pulumi.StringOutput),
	}, append(child, pulumi.DependsOn([]pulumi.Resource{block}))...)
	if err != nil {
		return nil, err
	}
	return &bucket{name: b.Bucket, arn: b.Arn, policy: policy}, nil
}

// newConfigBucket is where AWS Config delivers the recording of every region: the grants AWS
// documents for its delivery channel, for this account's deliveries only.
func newConfigBucket(ctx *pulumi.Context, c *Config, account awsAccount, opts ...pulumi.ResourceOption) (*bucket, error) {
	sourceAccount := map[string]map[string]any{"StringEquals": {"aws:SourceAccount": account.AccountID}}
	return newPrivateBucket(ctx, "config", fmt.Sprintf("%s-config-%s", project, account.AccountID), nil, func(arn string) []statement {
		return []statement{
			{Sid: "ConfigReadsTheBucket", Effect: "Allow", Principal: map[string]any{"Service": "config.amazonaws.com"},
				Actions: []string{"s3:GetBucketAcl", "s3:ListBucket"}, Resources: []string{arn}, Condition: sourceAccount},
			{Sid: "ConfigDelivers", Effect: "Allow", Principal: map[string]any{"Service": "config.amazonaws.com"},
				Actions: []string{"s3:PutObject"}, Resources: []string{arn + "/AWSLogs/" + account.AccountID + "/Config/*"},
				Condition: sourceAccount},
		}
	}, append(opts, pulumi.Protect(c.Protect))...)
}

// stateBackend is a self-managed Pulumi backend: "pulumi login <url>", and stacks created with
// "--secrets-provider <secretsProvider>".
type stateBackend struct {
	url, secretsProvider pulumi.StringOutput
	key                  pulumi.StringOutput
}

// keyArn is the state key's ARN, "" without a backend.
func (b *stateBackend) keyArn() pulumi.StringOutput {
	if b == nil {
		return pulumi.String("").ToStringOutput()
	}
	return b.key
}

// bucketName is the state bucket's name, "" without a backend.
func (b *stateBackend) bucketName(account awsAccount) string {
	if b == nil {
		return ""
	}
	return stateBucketName(account.AccountID)
}

// stateKeyAlias names the key the stacks' secrets are encrypted with.
const stateKeyAlias = "alias/coldchain-pulumi-state"

// stateBucketName is the state backend's bucket in an account.
func stateBucketName(accountID string) string { return "coldchain-pulumi-state-" + accountID }

// newStateBackend creates the state bucket and the secrets key, when the stack has stateBackend.
// Both are protected and outlive the stack: every stack's state is in them.
func newStateBackend(ctx *pulumi.Context, c *Config, account awsAccount, opts ...pulumi.ResourceOption) (*stateBackend, error) {
	if !c.StateBackend {
		return nil, nil
	}
	keep := append(opts, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	key, err := kms.NewKey(ctx, "state", &kms.KeyArgs{
		Description:          pulumi.String("Encrypts the Pulumi state of the coldchain stacks, and their secrets"),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
	}, keep...)
	if err != nil {
		return nil, err
	}
	// The stacks name their secrets provider by the alias: it is kept with the key.
	if _, err := kms.NewAlias(ctx, "state", &kms.AliasArgs{Name: pulumi.String(stateKeyAlias), TargetKeyId: key.KeyId},
		append(keep, pulumi.DeleteBeforeReplace(true))...); err != nil {
		return nil, err
	}
	b, err := newPrivateBucket(ctx, "state", stateBucketName(account.AccountID), key,
		func(string) []statement { return nil }, keep...)
	if err != nil {
		return nil, err
	}
	return &stateBackend{
		url:             pulumi.Sprintf("s3://%s?region=%s", b.name, c.Region),
		secretsProvider: pulumi.Sprintf("awskms://%s?region=%s", stateKeyAlias, c.Region),
		key:             key.Arn,
	}, nil
}
