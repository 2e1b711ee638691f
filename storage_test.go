package main

import (
	"coldchain/internal/limits"
	"coldchain/internal/offline"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var bucketNames = []string{"uploads", "backups", "logs"}

func TestDataKeyRotatesAndIsUsableOnlyThroughTheDataServices(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	key := p.One(t, kmsKeyType, "data")
	assert.True(t, key.Flag("enableKeyRotation"))
	assert.Equal(t, float64(30), key.Num("deletionWindowInDays"))
	assert.Equal(t, "alias/coldchain-production-data", p.One(t, "aws:kms/alias:Alias", "data").In("name"))

	var policy parsedPolicy
	key.Doc(t, "policy", &policy)
	require.Len(t, policy.Statement, 2)
	for _, s := range policy.Statement {
		assert.Equal(t, map[string]any{"AWS": "arn:aws:iam::123456789012:root"}, s.Principal)
		for _, action := range strs(s.Action) {
			crypto := strings.Contains(action, "crypt") || strings.HasPrefix(action, "kms:GenerateDataKey")
			if s.Sid == "AdministerThroughIAM" {
				assert.Falsef(t, crypto, "the administration statement allows %s", action)
			}
		}
	}
	use := bySid(t, policy, "UseThroughDataServices")
	assert.Equal(t, "123456789012", use.Condition["StringEquals"]["kms:CallerAccount"])
	assert.ElementsMatch(t, []any{
		"s3.ap-northeast-2.amazonaws.com", "rds.ap-northeast-2.amazonaws.com",
		"elasticache.ap-northeast-2.amazonaws.com", "secretsmanager.ap-northeast-2.amazonaws.com",
		"ecr.ap-northeast-2.amazonaws.com",
	}, use.Condition["StringEquals"]["kms:ViaService"])
}

func TestEveryBucketIsPrivateOwnerEnforcedEncryptedAndDeniesPlainHTTP(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	keyArn := p.One(t, kmsKeyType, "data").Outputs["arn"]
	for _, name := range bucketNames {
		b := p.One(t, bucketType, name)

		block := p.One(t, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name)
		assert.Equal(t, b.ID, block.In("bucket"))
		for _, flag := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			assert.Truef(t, block.Flag(flag), "bucket %s: %s", name, flag)
		}

		own := p.One(t, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", name)
		assert.Equal(t, "BucketOwnerEnforced", own.Obj("rule")["objectOwnership"], "bucket %s", name)

		sse := p.One(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", name)
		rule := sse.List("rules")[0].(map[string]any)
		byDefault := rule["applyServerSideEncryptionByDefault"].(map[string]any)
		if name == "logs" {
			// ALB access logs can only be written to an SSE-S3 bucket.
			assert.Equal(t, "AES256", byDefault["sseAlgorithm"])
		} else {
			assert.Equal(t, "aws:kms", byDefault["sseAlgorithm"], "bucket %s", name)
			assert.Equal(t, keyArn, byDefault["kmsMasterKeyId"], "bucket %s", name)
			assert.Equal(t, true, rule["bucketKeyEnabled"], "bucket %s", name)
		}

		var policy parsedPolicy
		p.One(t, "aws:s3/bucketPolicy:BucketPolicy", name).Doc(t, "policy", &policy)
		deny := bySid(t, policy, "DenyInsecureTransport")
		assert.Equal(t, "Deny", deny.Effect)
		assert.Equal(t, "*", deny.Principal)
		assert.Equal(t, []string{"s3:*"}, strs(deny.Action))
		assert.ElementsMatch(t, []string{b.Outputs["arn"].(string), b.Outputs["arn"].(string) + "/*"}, strs(deny.Resource))
		assert.Equal(t, "false", deny.Condition["Bool"]["aws:SecureTransport"], "bucket %s", name)
	}
}

// lifecycleRules returns a bucket's lifecycle rules by id.
func lifecycleRules(t *testing.T, p *offline.Plan, name string) map[string]map[string]any {
	t.Helper()
	rules := map[string]map[string]any{}
	for _, r := range p.One(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", name).List("rules") {
		rule := r.(map[string]any)
		assert.Equal(t, "Enabled", rule["status"])
		assert.NotNil(t, rule["filter"], "every rule has a filter")
		rules[rule["id"].(string)] = rule
	}
	return rules
}

func TestDataBucketsAreVersionedLoggedAndExpireOldVersions(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	logs := p.One(t, bucketType, "logs")
	for _, name := range []string{"uploads", "backups"} {
		versioning := p.One(t, "aws:s3/bucketVersioningV2:BucketVersioningV2", name)
		assert.Equal(t, "Enabled", versioning.Obj("versioningConfiguration")["status"])

		logging := p.One(t, "aws:s3/bucketLoggingV2:BucketLoggingV2", name)
		assert.Equal(t, logs.In("bucket"), logging.In("targetBucket"))
		assert.Equal(t, "s3-access/"+name+"/", logging.In("targetPrefix"))
		assert.Contains(t, logging.DependsOn, p.One(t, "aws:s3/bucketPolicy:BucketPolicy", "logs").URN,
			"logging starts once the logs bucket lets S3 write")

		rules := lifecycleRules(t, p, name)
		assert.Equal(t, float64(90), rules["expire-old-versions"]["noncurrentVersionExpiration"].(map[string]any)["noncurrentDays"])
		assert.Equal(t, float64(7), rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"].(map[string]any)["daysAfterInitiation"])
		assert.Contains(t, p.One(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", name).DependsOn, versioning.URN)
	}
	// Archived backups stay readable at once, here and in the DR replica: a failover copies
	// them with "aws s3 sync", which cannot read an object that needs a restore first.
	production := planOfFile(t, "production")
	for _, name := range []string{"backups", "backups-dr"} {
		archive := lifecycleRules(t, production, name)["archive-to-glacier"]["transitions"].([]any)[0].(map[string]any)
		assert.Equal(t, map[string]any{"days": float64(30), "storageClass": "GLACIER_IR"}, archive, name)
	}
	assert.NotContains(t, lifecycleRules(t, p, "uploads"), "archive-to-glacier", "uploads stay in S3 Standard")
	// The logs bucket is versioned too (Security Hub S3.14), its old versions expiring.
	logsVersioning := p.One(t, "aws:s3/bucketVersioningV2:BucketVersioningV2", "logs")
	assert.Equal(t, "Enabled", logsVersioning.Obj("versioningConfiguration")["status"])
	assert.Len(t, p.All("aws:s3/bucketVersioningV2:BucketVersioningV2"), 3, "every bucket is versioned")
	assert.Equal(t, float64(90), lifecycleRules(t, p, "logs")["expire-old-versions"]["noncurrentVersionExpiration"].(map[string]any)["noncurrentDays"])
}

func TestEveryLifecycleRuleCoversTheWholeBucketWithAFilterTheProviderAccepts(t *testing.T) {
	t.Parallel()
	// The provider warns on an empty filter ("Invalid Attribute Combination ... will be an error
	// in a future version"): exactly one of prefix, tag, object size or and must be set. The
	// empty prefix is set and still matches every object.
	p := planOf(t, minimalConfig())
	for _, name := range []string{"logs", "uploads", "backups"} {
		for id, rule := range lifecycleRules(t, p, name) {
			assert.Equalf(t, map[string]any{"prefix": ""}, rule["filter"], "%s rule %s", name, id)
			assert.NotContainsf(t, rule, "prefix", "%s rule %s: the rule-level prefix is deprecated", name, id)
		}
	}
}

func TestLogsBucketExpiresLogsAndLetsTheRegionsLoadBalancerWrite(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "logsExpirationDays=30"))
	assert.Equal(t, float64(30), lifecycleRules(t, p, "logs")["expire-logs"]["expiration"].(map[string]any)["days"])

	var policy parsedPolicy
	p.One(t, "aws:s3/bucketPolicy:BucketPolicy", "logs").Doc(t, "policy", &policy)
	alb := bySid(t, policy, "AllowLoadBalancerAccessLogs")
	// ap-northeast-2 delivers from the ELB account of the region.
	assert.Equal(t, map[string]any{"AWS": "arn:aws:iam::600734575887:root"}, alb.Principal)
	assert.Equal(t, []string{"s3:PutObject"}, strs(alb.Action))
	assert.Equal(t, []string{"arn:aws:s3:::coldchain-production-logs-123456789012/alb/AWSLogs/123456789012/*"}, strs(alb.Resource))

	access := bySid(t, policy, "AllowS3ServerAccessLogs")
	assert.Equal(t, map[string]any{"Service": "logging.s3.amazonaws.com"}, access.Principal)
	assert.Equal(t, "123456789012", access.Condition["StringEquals"]["aws:SourceAccount"])
	assert.ElementsMatch(t, []any{
		"arn:aws:s3:::coldchain-production-uploads-123456789012",
		"arn:aws:s3:::coldchain-production-backups-123456789012",
	}, access.Condition["ArnLike"]["aws:SourceArn"])
}

func TestLoadBalancerLogsInNewerRegionsUseTheDeliveryService(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "aws:region=ap-southeast-7"))
	var policy parsedPolicy
	p.One(t, "aws:s3/bucketPolicy:BucketPolicy", "logs").Doc(t, "policy", &policy)
	assert.Equal(t, map[string]any{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}, bySid(t, policy, "AllowLoadBalancerAccessLogs").Principal)
}

func TestDerivedBucketNamesAreUniqueAndValidEvenForLongNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sets   []string
		prefix string
	}{
		{nil, "coldchain-production"},
		{[]string{"projectName=cold-chain-dispatcher", "environment=production"}, "cold-chain-dispatcher-production"},
		{[]string{"projectName=abcdefghijklmnopqrst", "environment=prod-eu-west"}, "abcdefghijklmnopqrst-prod-eu-west"},
	} {
		p := planOf(t, with(minimalConfig(), tc.sets...))
		for _, name := range bucketNames {
			bucket := p.One(t, bucketType, name).In("bucket")
			assert.Equal(t, tc.prefix+"-"+name+"-123456789012", bucket)
			assert.Emptyf(t, limits.BucketNameProblem(bucket), "derived name %q breaks S3's rules", bucket)
		}
	}
}

func TestConfiguredBucketNamesAreUsed(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "uploadsBucketName=acme-dispatch-uploads", "logsBucketName=acme-dispatch-logs"))
	assert.Equal(t, "acme-dispatch-uploads", p.One(t, bucketType, "uploads").In("bucket"))
	assert.Equal(t, "acme-dispatch-logs", p.One(t, bucketType, "logs").In("bucket"))
	assert.Equal(t, "acme-dispatch-uploads", p.Outputs["uploadsBucketName"])
	var policy parsedPolicy
	p.One(t, "aws:s3/bucketPolicy:BucketPolicy", "logs").Doc(t, "policy", &policy)
	assert.Contains(t, bySid(t, policy, "AllowS3ServerAccessLogs").Condition["ArnLike"]["aws:SourceArn"], "arn:aws:s3:::acme-dispatch-uploads")
}

func TestBeforeTheFirstReleaseNoTagIsKept(t *testing.T) {
	t.Parallel()
	p := planOfShippedFile(t, "production")
	assert.NotContains(t, p.One(t, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "backend").In("policy"), "tagPatternList")
}

func TestEcrRepositoriesScanEncryptAndExpireImages(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	keyArn := p.One(t, kmsKeyType, "data").Outputs["arn"]
	for _, service := range []string{"backend", "frontend"} {
		repo := p.One(t, repoType, service)
		assert.Equal(t, "coldchain-production/"+service, repo.In("name"))
		assert.Equal(t, true, repo.Obj("imageScanningConfiguration")["scanOnPush"])
		assert.Equal(t, "IMMUTABLE", repo.In("imageTagMutability"))
		enc := repo.List("encryptionConfigurations")[0].(map[string]any)
		assert.Equal(t, map[string]any{"encryptionType": "KMS", "kmsKey": keyArn}, enc)
		assert.True(t, repo.DeleteBeforeReplace, "the fixed name must be freed before a replacement")
		assert.Equal(t, repo.Outputs["repositoryUrl"], p.Outputs[service+"EcrRepositoryUrl"])

		var policy struct {
			Rules []struct {
				RulePriority int
				Selection    struct {
					TagStatus      string
					TagPatternList []string
					CountType      string
					CountNumber    int
				}
				Action struct{ Type string }
			}
		}
		lifecycle := p.One(t, "aws:ecr/lifecyclePolicy:LifecyclePolicy", service)
		assert.Equal(t, repo.In("name"), lifecycle.In("repository"))
		lifecycle.Doc(t, "policy", &policy)
		require.Len(t, policy.Rules, 3)
		// The deployed image is selected first, and so never expired by the rules after it
		// (a tag names one image, so "more than 1" never holds).
		keep := policy.Rules[0]
		assert.Equal(t, 1, keep.RulePriority)
		assert.Equal(t, "tagged", keep.Selection.TagStatus)
		assert.Equal(t, []string{releaseTag}, keep.Selection.TagPatternList)
		assert.Equal(t, "imageCountMoreThan", keep.Selection.CountType)
		assert.Equal(t, 1, keep.Selection.CountNumber)
		assert.Equal(t, "untagged", policy.Rules[1].Selection.TagStatus)
		assert.Equal(t, "sinceImagePushed", policy.Rules[1].Selection.CountType)
		last := policy.Rules[2]
		assert.Equal(t, "any", last.Selection.TagStatus)
		assert.Equal(t, "imageCountMoreThan", last.Selection.CountType)
		assert.Equal(t, 30, last.Selection.CountNumber)
		assert.Equal(t, 3, last.RulePriority, "the 'any' rule must have the highest priority number")
		for _, r := range policy.Rules {
			assert.Equal(t, "expire", r.Action.Type)
		}
	}
}

// statefulResources are the resources whose loss loses data; they follow the protect key.
var statefulResources = []struct{ typ, name string }{
	{dbType, "postgres"}, {redisType, "redis"}, {bucketType, "uploads"}, {bucketType, "backups"},
	{repoType, "backend"}, {repoType, "frontend"}, {kmsKeyType, "data"}, {secretType, "redis-auth"},
}

func TestStatefulResourcesAreProtectedUnlessConfigTurnsItOff(t *testing.T) {
	t.Parallel()
	on := planOf(t, minimalConfig())
	off := planOf(t, with(minimalConfig(), "protect=false", "forceDestroy=true"))
	for _, s := range statefulResources {
		assert.Truef(t, on.One(t, s.typ, s.name).Protect, "%s %s is not protected by default", s.typ, s.name)
		assert.Falsef(t, off.One(t, s.typ, s.name).Protect, "%s %s is protected with protect=false", s.typ, s.name)
	}
	for _, name := range bucketNames {
		assert.False(t, on.One(t, bucketType, name).Flag("forceDestroy"))
		assert.True(t, off.One(t, bucketType, name).Flag("forceDestroy"))
	}
	assert.False(t, on.One(t, repoType, "backend").Flag("forceDelete"))
	assert.True(t, off.One(t, repoType, "backend").Flag("forceDelete"))
}
