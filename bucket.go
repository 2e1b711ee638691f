package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// bucketSpec describes one hardened bucket.
type bucketSpec struct {
	// name is the physical bucket name.
	name string
	// keyArn, when set, encrypts with SSE-KMS and that key; otherwise SSE-S3.
	keyArn pulumi.StringInput
	// versioned keeps old versions of every object.
	versioned bool
	// protect protects the bucket itself against destroy.
	protect bool
	// forceDestroy lets destroy delete the bucket with its objects.
	forceDestroy bool
	// logTo, when set, is the bucket that receives this bucket's server access logs.
	logTo pulumi.StringInput
	// lifecycle is the bucket's lifecycle rules.
	lifecycle []s3.BucketLifecycleConfigurationV2RuleArgs
	// policy is added to the statement that denies every request not sent over TLS.
	policy []statement
}

// bucket is what later resources need of a bucket.
type bucket struct {
	name, arn pulumi.StringOutput
	// ready is the bucket's name, resolved once its policy is in place.
	ready pulumi.StringOutput
	// versioning turns versioning on, nil for a bucket that is not versioned: replication
	// waits for it.
	versioning pulumi.Resource
}

// newBucket creates a bucket with every public access block, owner-enforced object ownership
// (no ACLs), default encryption, a policy that denies plain HTTP, and the spec's versioning,
// lifecycle and access logging. Child names derive from the bucket's logical name.
func newBucket(ctx *pulumi.Context, name string, spec *bucketSpec, parent pulumi.ResourceOption) (*bucket, error) {
	b, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{
		Bucket:       pulumi.String(spec.name),
		ForceDestroy: pulumi.Bool(spec.forceDestroy),
	}, parent, pulumi.Protect(spec.protect))
	if err != nil {
		return nil, fmt.Errorf("creating %s bucket: %w", name, err)
	}
	fail := func(what string, err error) (*bucket, error) {
		return nil, fmt.Errorf("creating %s bucket %s: %w", name, what, err)
	}
	// Each of the bucket's configurations exists once for it.
	config := pulumi.Composite(parent, oncePerParent)

	block, err := s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket:                b.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, config)
	if err != nil {
		return fail("public access block", err)
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: b.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, config); err != nil {
		return fail("ownership controls", err)
	}

	encryption := &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
		SseAlgorithm: pulumi.String("AES256"),
	}
	if spec.keyArn != nil {
		encryption = &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
			SseAlgorithm:   pulumi.String("aws:kms"),
			KmsMasterKeyId: spec.keyArn,
		}
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: encryption,
				// S3 Bucket Keys cut KMS requests (and their cost) by orders of magnitude.
				BucketKeyEnabled: pulumi.Bool(spec.keyArn != nil),
			},
		},
	}, config); err != nil {
		return fail("encryption", err)
	}

	var lifecycleDeps []pulumi.Resource
	var versioning pulumi.Resource
	if spec.versioned {
		v, err := s3.NewBucketVersioningV2(ctx, name, &s3.BucketVersioningV2Args{
			Bucket:                  b.ID(),
			VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
		}, config)
		if err != nil {
			return fail("versioning", err)
		}
		// Rules on noncurrent versions only take effect on a versioned bucket.
		versioning = v
		lifecycleDeps = append(lifecycleDeps, v)
	}
	rules := s3.BucketLifecycleConfigurationV2RuleArray{}
	for _, r := range append(spec.lifecycle, abortUploadsRule()) {
		rules = append(rules, r)
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: b.ID(),
		Rules:  rules,
	}, config, pulumi.DependsOn(lifecycleDeps)); err != nil {
		return fail("lifecycle", err)
	}

	statements := append([]statement{denyInsecureTransport(b.Arn)}, spec.policy...)
	policy, err := s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{
		Bucket: b.ID(),
		Policy: policyJSON(statements...),
		// S3 rejects a policy written while the public access block is still being applied.
	}, config, pulumi.DependsOn([]pulumi.Resource{block}))
	if err != nil {
		return fail("policy", err)
	}

	if spec.logTo != nil {
		if _, err := s3.NewBucketLoggingV2(ctx, name, &s3.BucketLoggingV2Args{
			Bucket:       b.ID(),
			TargetBucket: spec.logTo,
			TargetPrefix: pulumi.String(s3AccessLogPrefix + "/" + name + "/"),
		}, config); err != nil {
			return fail("access logging", err)
		}
	}
	return &bucket{name: b.Bucket, arn: b.Arn, ready: policy.Bucket, versioning: versioning}, nil
}

// oncePerParent is the option of a resource that exists once for its parent (a bucket's
// policy or lifecycle, a repository's lifecycle policy, a service's scalable target, the load
// balancer's web ACL association): AWS keys its create and its delete by the parent, so a
// replacement created first would be removed by the delete of the old one, or collide with
// it. The old one is deleted first (internal/schema lists these types: OnePer).
var oncePerParent = pulumi.DeleteBeforeReplace(true)

// denyInsecureTransport denies every request to the bucket that is not sent over TLS
// (Security Hub S3.5).
func denyInsecureTransport(bucketArn pulumi.StringOutput) statement {
	return statement{
		Sid:        "DenyInsecureTransport",
		Deny:       true,
		Principals: map[string]any{"*": "*"},
		Actions:    []string{"s3:*"},
		Resources:  []pulumi.StringInput{bucketArn, pulumi.Sprintf("%s/*", bucketArn)},
		Conditions: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
	}
}

func lifecycleRule(id string) s3.BucketLifecycleConfigurationV2RuleArgs {
	return s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:     pulumi.String(id),
		Status: pulumi.String("Enabled"),
		// The empty prefix matches every object. An empty filter would too, but the provider
		// warns that it will refuse one ("Invalid Attribute Combination": exactly one of
		// prefix, tag, size or and is required).
		Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
	}
}

// abortUploadsRule removes the parts of multipart uploads that never completed, which are
// billed but invisible.
func abortUploadsRule() s3.BucketLifecycleConfigurationV2RuleArgs {
	r := lifecycleRule("abort-incomplete-uploads")
	r.AbortIncompleteMultipartUpload = &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
		DaysAfterInitiation: pulumi.Int(7),
	}
	return r
}

func expireOldVersionsRule(days int) s3.BucketLifecycleConfigurationV2RuleArgs {
	r := lifecycleRule("expire-old-versions")
	r.NoncurrentVersionExpiration = &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
		NoncurrentDays: pulumi.Int(days),
	}
	return r
}

// archiveRule moves objects to S3 Glacier Instant Retrieval: archive prices, and read in
// milliseconds like S3 Standard, so that a failover's copy of the backups, or a restore from
// one, reads every object at once. (Glacier Flexible Retrieval, a little cheaper, serves an
// object only after a restore of minutes to hours, which "aws s3 sync" does not do and fails on.)
func archiveRule(days int) s3.BucketLifecycleConfigurationV2RuleArgs {
	r := lifecycleRule("archive-to-glacier")
	r.Transitions = s3.BucketLifecycleConfigurationV2RuleTransitionArray{
		&s3.BucketLifecycleConfigurationV2RuleTransitionArgs{Days: pulumi.Int(days), StorageClass: pulumi.String(archiveStorageClass)},
	}
	return r
}

// archiveStorageClass is S3 Glacier Instant Retrieval's name in lifecycle rules.
const archiveStorageClass = "GLACIER_IR"

func expireRule(id string, days int) s3.BucketLifecycleConfigurationV2RuleArgs {
	r := lifecycleRule(id)
	r.Expiration = &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(days)}
	return r
}

// Where the logs bucket receives each kind of log.
const (
	albLogPrefix      = "alb"
	s3AccessLogPrefix = "s3-access"
)
