package main

import (
	"strings"
	"testing"

	"coldchain/internal/offline"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The production stack copies what it cannot rebuild into ap-northeast-1; these tests read
// the copies as AWS would: where they are, what encrypts them, what may write them.

const (
	drKeyArnPrefix    = "arn:aws:kms:ap-northeast-1:123456789012:key/"
	homeKeyArnPrefix  = "arn:aws:kms:ap-northeast-2:123456789012:key/"
	replicationPolicy = "aws:iam/rolePolicy:RolePolicy"
)

func TestTheDRKeyIsInTheDRRegionRotatesAndIsKeptWithTheCopies(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	key := p.One(t, kmsKeyType, "dr-data")
	require.True(t, strings.HasPrefix(key.Outputs["arn"].(string), drKeyArnPrefix), key.Outputs["arn"])
	assert.True(t, key.Flag("enableKeyRotation"))
	assert.True(t, key.Protect, "the key of the copies is protected with them")
	assert.True(t, key.RetainOnDelete, "a destroy of the stack leaves the copies readable")

	var policy parsedPolicy
	key.Doc(t, "policy", &policy)
	// Used only through the data services of the DR region, where the copies are.
	via := bySid(t, policy, "UseThroughDataServices").Condition["StringEquals"]["kms:ViaService"]
	assert.Contains(t, via, "s3.ap-northeast-1.amazonaws.com")
	assert.Contains(t, via, "rds.ap-northeast-1.amazonaws.com")
	assert.Contains(t, via, "secretsmanager.ap-northeast-1.amazonaws.com")
	for _, service := range via.([]any) {
		assert.Contains(t, service, ".ap-northeast-1.", "the DR key is used in the DR region only")
	}
}

func TestEveryDataBucketIsReplicatedToAnEncryptedVersionedReplica(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	drKey := p.One(t, kmsKeyType, "dr-data").Outputs["arn"]
	role := p.One(t, roleType, "replication").Outputs["arn"]
	for _, purpose := range []string{"uploads", "backups"} {
		source := p.One(t, bucketType, purpose).In("bucket")
		replica := p.One(t, bucketType, purpose+"-dr")
		assert.Equal(t, source+"-ap-northeast-1", replica.In("bucket"))
		assert.True(t, replica.Protect, "%s replica is protected like its source", purpose)
		assert.Equal(t, "Enabled", p.One(t, "aws:s3/bucketVersioningV2:BucketVersioningV2", purpose+"-dr").Obj("versioningConfiguration")["status"])
		sse := p.One(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", purpose+"-dr").List("rules")[0].(map[string]any)
		assert.Equal(t, drKey, sse["applyServerSideEncryptionByDefault"].(map[string]any)["kmsMasterKeyId"])

		// S3 does not replicate lifecycle actions: the replica has its source's rules.
		assert.Equal(t, lifecycleRules(t, p, purpose), lifecycleRules(t, p, purpose+"-dr"), "%s replica's lifecycle", purpose)

		replication := p.One(t, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", purpose)
		assert.Equal(t, source, replication.In("bucket"))
		assert.Equal(t, role, replication.Inputs["role"])
		rules := replication.List("rules")
		require.Len(t, rules, 1)
		rule := rules[0].(map[string]any)
		assert.Equal(t, "Enabled", rule["status"])
		assert.Equal(t, map[string]any{"prefix": ""}, rule["filter"], "every object")
		assert.Equal(t, map[string]any{"status": "Enabled"}, rule["deleteMarkerReplication"])
		// Without this, S3 skips every object encrypted with the data key: all of them.
		assert.Equal(t, map[string]any{"sseKmsEncryptedObjects": map[string]any{"status": "Enabled"}}, rule["sourceSelectionCriteria"])
		destination := rule["destination"].(map[string]any)
		assert.Equal(t, replica.Outputs["arn"], destination["bucket"])
		assert.Equal(t, map[string]any{"replicaKmsKeyId": drKey}, destination["encryptionConfiguration"])
		// Replication needs versioning on both sides before it is configured.
		assert.Contains(t, replication.DependsOn, p.One(t, "aws:s3/bucketVersioningV2:BucketVersioningV2", purpose).URN)
		assert.Contains(t, replication.DependsOn, p.One(t, "aws:s3/bucketVersioningV2:BucketVersioningV2", purpose+"-dr").URN)
		assert.Contains(t, replication.DependsOn, p.One(t, replicationPolicy, "replication").URN, "the role may act before S3 uses it")
	}
	// Access logs are not data and are not copied; the replicas log their own access to a logs
	// bucket of the DR region (S3 delivers access logs within a region only).
	assert.Nil(t, p.Find("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "logs"))
	logsDR := p.One(t, bucketType, "logs-dr")
	assert.Equal(t, p.One(t, bucketType, "logs").In("bucket")+"-ap-northeast-1", logsDR.In("bucket"))
	assert.Contains(t, logsDR.Provider, "::aws-dr::", "in the DR region")
	for _, purpose := range []string{"uploads", "backups"} {
		logging := p.One(t, "aws:s3/bucketLoggingV2:BucketLoggingV2", purpose+"-dr")
		assert.Equal(t, logsDR.In("bucket"), logging.In("targetBucket"), purpose)
		assert.Equal(t, "s3-access/"+purpose+"-dr/", logging.In("targetPrefix"), purpose)
	}
	var policy parsedPolicy
	p.One(t, "aws:s3/bucketPolicy:BucketPolicy", "logs-dr").Doc(t, "policy", &policy)
	delivery := bySid(t, policy, "AllowS3ServerAccessLogs")
	assert.ElementsMatch(t, []string{
		"arn:aws:s3:::" + p.Outputs["drBucketNames"].(map[string]any)["uploads"].(string),
		"arn:aws:s3:::" + p.Outputs["drBucketNames"].(map[string]any)["backups"].(string),
	}, strs(delivery.Condition["ArnLike"]["aws:SourceArn"]), "only the replicas deliver there")
}

func TestTheReplicationRoleMayOnlyReplicateTheDataBuckets(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	var trust parsedPolicy
	p.One(t, roleType, "replication").Doc(t, "assumeRolePolicy", &trust)
	require.Len(t, trust.Statement, 1)
	assert.Equal(t, map[string]any{"Service": "s3.amazonaws.com"}, trust.Statement[0].Principal)
	assert.Equal(t, "123456789012", trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"])

	var sources, sourceObjects, replicaObjects []string
	for _, purpose := range []string{"uploads", "backups"} {
		sources = append(sources, p.One(t, bucketType, purpose).Outputs["arn"].(string))
		sourceObjects = append(sourceObjects, p.One(t, bucketType, purpose).Outputs["arn"].(string)+"/*")
		replicaObjects = append(replicaObjects, p.One(t, bucketType, purpose+"-dr").Outputs["arn"].(string)+"/*")
	}
	var policy parsedPolicy
	p.One(t, replicationPolicy, "replication").Doc(t, "policy", &policy)
	require.Len(t, policy.Statement, 5, "no statement beyond the five replication needs")
	read := bySid(t, policy, "ReadReplicationConfiguration")
	assert.ElementsMatch(t, sources, strs(read.Resource))
	assert.ElementsMatch(t, sourceObjects, strs(bySid(t, policy, "ReadSourceVersions").Resource))
	write := bySid(t, policy, "WriteReplicas")
	assert.ElementsMatch(t, []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}, strs(write.Action))
	assert.ElementsMatch(t, replicaObjects, strs(write.Resource), "writes the replicas only, never the sources")

	decrypt := bySid(t, policy, "DecryptSources")
	assert.Equal(t, []string{"kms:Decrypt"}, strs(decrypt.Action))
	assert.Equal(t, []string{p.One(t, kmsKeyType, "data").Outputs["arn"].(string)}, strs(decrypt.Resource))
	assert.Equal(t, "s3.ap-northeast-2.amazonaws.com", decrypt.Condition["StringEquals"]["kms:ViaService"])
	encrypt := bySid(t, policy, "EncryptReplicas")
	assert.Equal(t, []string{p.One(t, kmsKeyType, "dr-data").Outputs["arn"].(string)}, strs(encrypt.Resource))
	assert.Equal(t, "s3.ap-northeast-1.amazonaws.com", encrypt.Condition["StringEquals"]["kms:ViaService"])
}

func TestTheDatabaseBackupsAreCopiedToTheDRRegionForAsLongAsTheyAreKept(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	db := p.One(t, dbType, "postgres")
	copies := p.One(t, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "postgres-backups")
	assert.Equal(t, db.Outputs["arn"], copies.Inputs["sourceDbInstanceArn"])
	assert.Equal(t, p.One(t, kmsKeyType, "dr-data").Outputs["arn"], copies.Inputs["kmsKeyId"], "encrypted with a key of the DR region")
	assert.Equal(t, db.Num("backupRetentionPeriod"), copies.Num("retentionPeriod"))
}

func TestTheTeamsSecretsHaveAReplicaInTheDRRegionAndTheGeneratedOnesDoNot(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	drKey := p.One(t, kmsKeyType, "dr-data").Outputs["arn"]
	secret := p.One(t, secretType, "backend-api-key")
	assert.Equal(t, []any{map[string]any{"region": "ap-northeast-1", "kmsKeyId": drKey}}, secret.List("replicas"),
		"a value only the team has is readable in the DR region")
	assert.True(t, strings.HasPrefix(secret.In("kmsKeyId"), homeKeyArnPrefix), "encrypted with the data key at home")
	// A cache rebuilt in the DR region gets a token of its own.
	assert.Empty(t, p.One(t, secretType, "redis-auth").List("replicas"))
}

func TestEveryRepositoryHasAReplicaTheRegistryFills(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production", "accountSettingsOwner=true")
	drKey := p.One(t, kmsKeyType, "dr-data").Outputs["arn"]
	replication := p.One(t, "aws:ecr/replicationConfiguration:ReplicationConfiguration", "images")
	rules := replication.Obj("replicationConfiguration")["rules"].([]any)
	require.Len(t, rules, 1)
	rule := rules[0].(map[string]any)
	assert.Equal(t, []any{map[string]any{"region": "ap-northeast-1", "registryId": "123456789012"}}, rule["destinations"])
	var filters []any
	for _, service := range []string{"backend", "frontend"} {
		source, replica := p.One(t, repoType, service), p.One(t, repoType, service+"-dr")
		filters = append(filters, map[string]any{"filter": source.In("name"), "filterType": "PREFIX_MATCH"})
		// ECR would create the replica itself with AES-256, mutable tags and no lifecycle
		// policy: it exists first, as the source is.
		assert.Equal(t, source.In("name"), replica.In("name"))
		assert.Equal(t, []any{map[string]any{"encryptionType": "KMS", "kmsKey": drKey}}, replica.List("encryptionConfigurations"))
		assert.Equal(t, "IMMUTABLE", replica.In("imageTagMutability"))
		assert.True(t, replica.Protect)
		assert.Contains(t, replication.DependsOn, replica.URN, "the replica exists before the first image is copied")
		assert.Equal(t, p.One(t, "aws:ecr/lifecyclePolicy:LifecyclePolicy", service).In("policy"),
			p.One(t, "aws:ecr/lifecyclePolicy:LifecyclePolicy", service+"-dr").In("policy"),
			"the replica keeps the deployed image and expires the others as the source does")
	}
	assert.Equal(t, filters, rule["repositoryFilters"])
}

func TestAnAdoptedRepositoryEncryptedByS3GetsAReplicaEncryptedWithTheDRKey(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production", "ecrEncryption=AES256")
	assert.Equal(t, "AES256", p.One(t, repoType, "backend").List("encryptionConfigurations")[0].(map[string]any)["encryptionType"])
	assert.Equal(t, "KMS", p.One(t, repoType, "backend-dr").List("encryptionConfigurations")[0].(map[string]any)["encryptionType"])
}

func TestWithoutADRRegionNothingIsCopied(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "staging")
	assert.Nil(t, p.Find("pulumi:providers:aws", "aws-dr"))
	assert.Empty(t, p.All("coldchain:index:DisasterRecovery"))
	assert.Empty(t, p.All("aws:s3/bucketReplicationConfig:BucketReplicationConfig"))
	assert.Empty(t, p.All("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"))
	assert.Empty(t, p.All("aws:ecr/replicationConfiguration:ReplicationConfiguration"))
	for _, secret := range p.All(secretType) {
		assert.Empty(t, secret.List("replicas"), secret.Name)
	}
	for _, output := range []string{"drRegion", "drKeyArn", "drBucketNames"} {
		assert.NotContains(t, p.Outputs, output)
	}
}

func TestTheStackOutputsSayWhereTheCopiesAre(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	assert.Equal(t, "ap-northeast-1", p.Outputs["drRegion"])
	assert.Equal(t, p.One(t, kmsKeyType, "dr-data").Outputs["arn"], p.Outputs["drKeyArn"])
	assert.Equal(t, map[string]any{
		"uploads": "coldchain-production-uploads-123456789012-ap-northeast-1",
		"backups": "coldchain-production-backups-123456789012-ap-northeast-1",
	}, p.Outputs["drBucketNames"])
}

func TestADRStackRestoresTheDatabaseFromTheCopiedBackupsUnderTheirKey(t *testing.T) {
	t.Parallel()
	const (
		backups = "arn:aws:rds:ap-northeast-1:123456789012:auto-backup:ab-4xmrf2dwbvtm3pvsvbqmwbbsk4"
		drKey   = "arn:aws:kms:ap-northeast-1:123456789012:key/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"
	)
	p := planOf(t, with(minimalConfig(), "aws:region=ap-northeast-1", "dbRestoreFrom="+backups, "dbKmsKey="+drKey))
	db := p.One(t, dbType, "postgres")
	assert.Equal(t, map[string]any{"sourceDbInstanceAutomatedBackupsArn": backups, "useLatestRestorableTime": true}, db.Obj("restoreToPointInTime"))
	assert.Equal(t, drKey, db.In("kmsKeyId"), "RDS restores under the backups' key; config names it so no update replaces the database")
	assert.True(t, db.Flag("manageMasterUserPassword"), "the restored database gets a master password of its own, in its own region")
	assert.Equal(t, map[string]string{"create": "4h"}, db.CustomTimeouts, "a restore may take hours, beyond the provider's 40 minutes")

	fresh := planOf(t, minimalConfig()).One(t, dbType, "postgres")
	assert.Nil(t, fresh.Inputs["restoreToPointInTime"], "a new stack's database starts empty")
	assert.Empty(t, fresh.CustomTimeouts)
}

func TestADRStackTakesOverTheDomainOnlyWhenTold(t *testing.T) {
	t.Parallel()
	const domain = "domainName=dispatch.example.com"
	assert.False(t, planOf(t, with(minimalConfig(), domain)).One(t, recordType, "alias").Flag("allowOverwrite"),
		"a record that exists is not the stack's to change")
	assert.True(t, planOf(t, with(minimalConfig(), domain, "takeOverDomain=true")).One(t, recordType, "alias").Flag("allowOverwrite"))
}

// TestAFailedReplicationPages: S3 does not retry an object it failed to copy to the DR
// replica, so each bucket's replication publishes its metrics and its failures page, on the
// dimensions S3 publishes them with (the source, the destination, the rule).
func TestAFailedReplicationPages(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	topic := p.One(t, "aws:sns/topic:Topic", "alarms").Outputs["arn"]
	for _, purpose := range []string{"uploads", "backups"} {
		replication := p.One(t, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", purpose)
		rule := replication.List("rules")[0].(map[string]any)
		destination := rule["destination"].(map[string]any)
		assert.Equal(t, map[string]any{"status": "Enabled"}, destination["metrics"], purpose)

		alarm := p.One(t, alarmType, purpose+"-replication-failed")
		assert.Equal(t, "AWS/S3", alarm.In("namespace"))
		assert.Equal(t, "OperationsFailedReplication", alarm.In("metricName"))
		assert.Equal(t, map[string]any{
			"SourceBucket":      replication.In("bucket"),
			"DestinationBucket": p.Outputs["drBucketNames"].(map[string]any)[purpose],
			"RuleId":            rule["id"],
		}, alarm.Obj("dimensions"))
		assert.Equal(t, float64(1), alarm.Num("threshold"))
		assert.Equal(t, "GreaterThanOrEqualToThreshold", alarm.In("comparisonOperator"))
		assert.Equal(t, []any{topic}, alarm.List("alarmActions"))
	}
	for _, a := range planOfFile(t, "staging").All(alarmType) {
		assert.NotContains(t, a.Name, "replication", "no DR region, no replication")
	}
}

// TestAFrozenStackRefusesAnUpdateButPreviews: after a failover, production is frozen so that
// neither a merge nor a local "pulumi up" starts the old region's services again; previews, and
// the offline plan, still run and say it.
func TestAFrozenStackRefusesAnUpdateButPreviews(t *testing.T) {
	t.Parallel()
	raw := with(mustLoad(t), "frozen=failed over to production-dr on 2026-12-03", "alarmEmail=ops@coldchain-dispatch.kr", "certificateArn="+readmeCert)
	cfg, err := loadConfig(project, "production", raw)
	require.NoError(t, err)
	var warnings []string
	program := stackProgram(cfg, true, func(w string) { warnings = append(warnings, w) })

	up, err := offline.Run(project, "production", raw, program)
	var configErr *ConfigError
	require.ErrorAs(t, err, &configErr)
	assert.Contains(t, err.Error(), `frozen = "failed over to production-dr on 2026-12-03"`)
	assert.Empty(t, up.Resources, "nothing is registered, so nothing changes")

	preview, err := offline.Run(project, "production", raw, program, offline.AsPreview())
	require.NoError(t, err)
	assert.NotEmpty(t, preview.Resources)
	assert.Contains(t, strings.Join(warnings, "\n"), "pulumi up would stop here: frozen", "the preview says it is frozen")

	plan, err := planStack(project, "production", raw)
	require.NoError(t, err)
	assert.Contains(t, strings.Join(plan.Warnings, "\n"), "pulumi up would stop here: frozen")
}

// TestTheFailoverRunbookBringsBackBothReleasesAndFreezesProduction: each service's own tag is
// brought back (a release may give them different ones), and production is frozen before
// anything can deploy it again.
func TestTheFailoverRunbookBringsBackBothReleasesAndFreezesProduction(t *testing.T) {
	t.Parallel()
	failover := readmeSection(t, "## Disaster recovery")
	for _, want := range []string{
		"BACKEND_TAG=$(pulumi config get backendImageTag --stack production)",
		"FRONTEND_TAG=$(pulumi config get frontendImageTag --stack production)",
		`scripts/release.sh production-dr backend="$BACKEND_TAG" frontend="$FRONTEND_TAG"`,
		`pulumi config set frozen "failed over to production-dr`,
		"pulumi config rm frozen --stack production",
	} {
		assert.Contains(t, failover, want)
	}
	assert.NotContains(t, failover, `"$TAG"`, "no single tag for both services")
	assert.Less(t, strings.Index(failover, "pulumi config set frozen"), strings.Index(failover, "scripts/release.sh production-dr"),
		"production is frozen as soon as the DR stack stands")
}
