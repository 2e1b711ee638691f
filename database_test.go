package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	dbType         = "aws:rds/instance:Instance"
	redisType      = "aws:elasticache/replicationGroup:ReplicationGroup"
	logGroupType   = "aws:cloudwatch/logGroup:LogGroup"
	secretType     = "aws:secretsmanager/secret:Secret"
	kmsKeyType     = "aws:kms/key:Key"
	randomPassType = "random:index/randomPassword:RandomPassword"
)

func sgID(t *testing.T, p *Plan, name string) string {
	t.Helper()
	return p.one(t, sgType, name).ID
}

func TestPostgresIsPrivateEncryptedMultiAZAndBackedUp(t *testing.T) {
	p := planOf(t, minimalConfig())
	db := p.one(t, dbType, "postgres")
	key := p.one(t, kmsKeyType, "data")

	assert.Equal(t, "postgres", db.in("engine"))
	assert.Equal(t, "17", db.in("engineVersion"))
	assert.Equal(t, "db.t3.medium", db.in("instanceClass"))
	assert.True(t, db.flag("multiAz"))
	assert.Equal(t, "gp3", db.in("storageType"))
	assert.Greater(t, db.num("maxAllocatedStorage"), db.num("allocatedStorage"), "storage autoscaling is on")
	assert.True(t, db.flag("storageEncrypted"))
	assert.Equal(t, key.Outputs["arn"], db.in("kmsKeyId"))
	assert.False(t, db.flag("publiclyAccessible"))
	assert.GreaterOrEqual(t, db.num("backupRetentionPeriod"), float64(7))
	assert.True(t, db.flag("deletionProtection"))
	assert.False(t, db.flag("skipFinalSnapshot"))
	suffix := p.one(t, "random:index/randomId:RandomId", "final-snapshot").Outputs["hex"].(string)
	assert.Equal(t, "coldchain-production-postgres-final-"+suffix, db.in("finalSnapshotIdentifier"))
	assert.Equal(t, db.in("finalSnapshotIdentifier"), p.Outputs["databaseFinalSnapshotName"])
	assert.True(t, db.flag("copyTagsToSnapshot"))
	assert.False(t, db.flag("deleteAutomatedBackups"), "automated backups outlive the instance")
	assert.True(t, db.flag("performanceInsightsEnabled"))
	assert.Equal(t, key.Outputs["arn"], db.in("performanceInsightsKmsKeyId"))
	assert.Equal(t, []any{"postgresql", "upgrade"}, db.list("enabledCloudwatchLogsExports"))
	assert.True(t, db.flag("autoMinorVersionUpgrade"))
	assert.Equal(t, float64(5432), db.num("port"))
}

func TestPostgresIsInIsolatedSubnetsBehindTheDatabaseGroupOnly(t *testing.T) {
	p := planOf(t, minimalConfig())
	db := p.one(t, dbType, "postgres")
	subnets := p.one(t, "aws:rds/subnetGroup:SubnetGroup", "postgres")

	assert.Equal(t, []any{sgID(t, p, "database-sg")}, db.list("vpcSecurityGroupIds"))
	assert.Equal(t, subnets.Outputs["name"], db.in("dbSubnetGroupName"))
	assert.Equal(t, p.Outputs["isolatedSubnetIds"], subnets.list("subnetIds"))
}

func TestNoDatabasePasswordInConfigOrState(t *testing.T) {
	p := planOf(t, minimalConfig())
	db := p.one(t, dbType, "postgres")
	assert.True(t, db.flag("manageMasterUserPassword"), "RDS manages the master password")
	assert.NotContains(t, db.Inputs, "password")
	assert.Equal(t, p.one(t, kmsKeyType, "data").Outputs["arn"], db.in("masterUserSecretKmsKeyId"))
	secrets := db.Outputs["masterUserSecrets"].([]any)
	assert.Equal(t, secrets[0].(map[string]any)["secretArn"], p.Outputs["databaseSecretArn"])
	assert.Regexp(t, `^arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds!db-`, p.Outputs["databaseSecretArn"])
	assert.NotEqual(t, "postgres", db.in("username"), "the master user is not a reserved name")
}

func TestParameterGroupFamilyMatchesEngineVersionAndForcesTLS(t *testing.T) {
	for version, family := range postgresFamilies {
		p := planOf(t, with(minimalConfig(), "dbEngineVersion="+version))
		db := p.one(t, dbType, "postgres")
		params := p.one(t, "aws:rds/parameterGroup:ParameterGroup", "postgres")
		assert.Equal(t, version, db.in("engineVersion"))
		assert.Equalf(t, family, params.in("family"), "engine %s", version)
		assert.Equal(t, params.Outputs["name"], db.in("parameterGroupName"))

		values := map[string]any{}
		for _, param := range params.list("parameters") {
			values[param.(map[string]any)["name"].(string)] = param.(map[string]any)["value"]
		}
		assert.Equal(t, "1", values["rds.force_ssl"], "TLS is forced")
	}
}

func TestPostgresLogGroupsHaveARetentionAndExistBeforeTheInstance(t *testing.T) {
	p := planOf(t, with(minimalConfig(), "logRetentionDays=60"))
	db := p.one(t, dbType, "postgres")
	for _, export := range []string{"postgresql", "upgrade"} {
		group := p.one(t, logGroupType, "postgres-"+export)
		// The name RDS publishes to: /aws/rds/instance/<identifier>/<log>.
		assert.Equal(t, "/aws/rds/instance/"+db.in("identifier")+"/"+export, group.in("name"))
		assert.Equal(t, float64(60), group.num("retentionInDays"))
		assert.Contains(t, db.DependsOn, group.URN)
	}
}

func TestDatabaseWindowsHaveTheAWSFormatAndDoNotOverlap(t *testing.T) {
	cfg, err := loadConfig(project, "production", minimalConfig())
	require.NoError(t, err)
	var p problems
	p.checkWindows("dbBackupWindow", cfg.DBBackupWindow, "dbMaintenanceWindow", cfg.DBMaintenanceWindow, 30)
	p.checkWindows("redisSnapshotWindow", cfg.RedisSnapshotWindow, "redisMaintenanceWindow", cfg.RedisMaintenanceWindow, 60)
	assert.Empty(t, p, "the default windows are valid and apart")

	for _, tc := range []struct {
		daily, weekly string
		ok            bool
	}{
		{"17:00-18:00", "sun:18:30-sun:19:30", true},
		{"17:00-18:00", "sun:17:30-sun:18:30", false},       // overlaps Sunday's backup
		{"23:30-00:30", "mon:00:00-mon:01:00", false},       // the backup wraps midnight
		{"02:00-03:00", "sat:23:30-sun:02:30", false},       // the maintenance window wraps a day
		{"02:00-03:00", "sun:23:30-mon:00:30", true},        // wraps the week, misses 02:00
		{"17:00-17:10", "sun:18:30-sun:19:30", false},       // too short
		{"5pm-6pm", "sun:18:30-sun:19:30", false},           // not the AWS format
		{"17:00-18:00", "sunday:18:30-sunday:19:30", false}, // not the AWS format
	} {
		var p problems
		p.checkWindows("dbBackupWindow", tc.daily, "dbMaintenanceWindow", tc.weekly, 30)
		assert.Equalf(t, tc.ok, len(p) == 0, "backup %s, maintenance %s: %v", tc.daily, tc.weekly, p)
	}
}

func TestRedisIsEncryptedHighlyAvailableAndAuthenticated(t *testing.T) {
	p := planOf(t, minimalConfig())
	redis := p.one(t, redisType, "redis")
	key := p.one(t, kmsKeyType, "data")
	subnets := p.one(t, "aws:elasticache/subnetGroup:SubnetGroup", "redis")

	assert.Equal(t, "redis", redis.in("engine"))
	assert.Equal(t, "cache.t3.medium", redis.in("nodeType"))
	assert.Equal(t, float64(2), redis.num("numCacheClusters"))
	assert.True(t, redis.flag("automaticFailoverEnabled"))
	assert.True(t, redis.flag("multiAzEnabled"))
	assert.Equal(t, []any{"ap-northeast-2a", "ap-northeast-2b"}, redis.list("preferredCacheClusterAzs"))
	assert.True(t, redis.flag("atRestEncryptionEnabled"))
	assert.Equal(t, key.Outputs["arn"], redis.in("kmsKeyId"))
	assert.True(t, redis.flag("transitEncryptionEnabled"))
	assert.Equal(t, secretPlaceholder, redis.in("authToken"), "the AUTH token is a secret")
	assert.Equal(t, []any{sgID(t, p, "redis-sg")}, redis.list("securityGroupIds"))
	assert.Equal(t, subnets.Outputs["name"], redis.in("subnetGroupName"))
	assert.Equal(t, p.Outputs["isolatedSubnetIds"], subnets.list("subnetIds"))
	assert.Equal(t, float64(7), redis.num("snapshotRetentionLimit"))
	suffix := p.one(t, "random:index/randomId:RandomId", "final-snapshot").Outputs["hex"].(string)
	assert.Equal(t, "coldchain-production-redis-final-"+suffix, redis.in("finalSnapshotIdentifier"))
	assert.Equal(t, redis.in("finalSnapshotIdentifier"), p.Outputs["redisFinalSnapshotName"])
	assert.Equal(t, redis.Outputs["primaryEndpointAddress"], p.Outputs["redisPrimaryEndpoint"])
}

func TestRedisLogsGoToTheSeedsLogGroupWithARetention(t *testing.T) {
	p := planOf(t, minimalConfig())
	group := p.one(t, logGroupType, "redis")
	assert.Equal(t, "/aws/elasticache/redis/coldchain-production", group.in("name"))
	assert.Equal(t, float64(30), group.num("retentionInDays"))

	types := map[string]bool{}
	for _, d := range p.one(t, redisType, "redis").list("logDeliveryConfigurations") {
		conf := d.(map[string]any)
		assert.Equal(t, group.in("name"), conf["destination"])
		assert.Equal(t, "cloudwatch-logs", conf["destinationType"])
		types[conf["logType"].(string)] = true
	}
	assert.Equal(t, map[string]bool{"slow-log": true, "engine-log": true}, types)
}

func TestRedisAuthTokenSatisfiesElastiCacheRulesAndIsKeptInSecretsManager(t *testing.T) {
	p := planOf(t, minimalConfig())
	token := p.one(t, randomPassType, "redis-auth")
	// ElastiCache: 16 to 128 printable characters, none of space, ", / and @.
	assert.GreaterOrEqual(t, token.num("length"), float64(16))
	assert.LessOrEqual(t, token.num("length"), float64(128))
	assert.False(t, token.flag("special"), "letters and digits only, so no forbidden character")
	assert.Equal(t, secretPlaceholder, token.Outputs["result"], "the token is secret in the state")

	secret := p.one(t, secretType, "redis-auth")
	assert.Equal(t, p.one(t, kmsKeyType, "data").Outputs["arn"], secret.in("kmsKeyId"))
	assert.Equal(t, float64(30), secret.num("recoveryWindowInDays"))
	version := p.one(t, "aws:secretsmanager/secretVersion:SecretVersion", "redis-auth")
	assert.Equal(t, secret.ID, version.in("secretId"))
	assert.Equal(t, secretPlaceholder, version.in("secretString"))
	assert.Contains(t, version.DependsOn, token.URN, "the secret holds the generated token")
}

func TestContradictoryCacheSettingsAreRejected(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		key  string
	}{
		{[]string{"redisMultiAz=true", "redisAutomaticFailover=false"}, "redisMultiAz"},
		{[]string{"redisMultiAz=false", "redisAutomaticFailover=true", "redisNodes=1"}, "redisAutomaticFailover"},
		{[]string{"redisSnapshotRetentionDays=0"}, "redisSnapshotRetentionDays"},
		{[]string{"dbAllocatedStorage=100", "dbMaxAllocatedStorage=105"}, "dbMaxAllocatedStorage"},
		{[]string{"dbInstanceClass=db.t3.micro"}, "dbPerformanceInsights"},
		{[]string{"dbEngineVersion=12"}, "dbEngineVersion"},
		{[]string{"dbUsername=postgres"}, "dbUsername"},
		{[]string{"dbUsername=rds_admin"}, "dbUsername"},
		{[]string{"dbName=1db"}, "dbName"},
		{[]string{"dbBackupRetentionDays=3"}, "dbBackupRetentionDays"},
		{[]string{"redisEngineVersion=5.0.6"}, "redisEngineVersion"},
		{[]string{"protect=maybe"}, "protect"},
		{[]string{"secretRecoveryDays=3"}, "secretRecoveryDays"},
		{[]string{"kmsDeletionWindowDays=60"}, "kmsDeletionWindowDays"},
	} {
		assertRejected(t, tc.sets, tc.key)
	}
}

func TestSingleNodeCacheWithoutFailoverIsAllowed(t *testing.T) {
	p := planOf(t, with(minimalConfig(), "redisNodes=1", "redisMultiAz=false", "redisAutomaticFailover=false", "dbMultiAz=false"))
	redis := p.one(t, redisType, "redis")
	assert.Equal(t, float64(1), redis.num("numCacheClusters"))
	assert.False(t, redis.flag("automaticFailoverEnabled"))
	assert.False(t, p.one(t, dbType, "postgres").flag("multiAz"))
}

func TestDestroyTimeSettingsFollowConfig(t *testing.T) {
	p := planOf(t, with(minimalConfig(), "finalSnapshot=false", "dbDeletionProtection=false", "secretRecoveryDays=7"))
	db := p.one(t, dbType, "postgres")
	assert.True(t, db.flag("skipFinalSnapshot"))
	assert.NotContains(t, db.Inputs, "finalSnapshotIdentifier")
	assert.False(t, db.flag("deletionProtection"))
	assert.NotContains(t, p.one(t, redisType, "redis").Inputs, "finalSnapshotIdentifier")
	assert.Equal(t, float64(7), p.one(t, secretType, "redis-auth").num("recoveryWindowInDays"))
}

func TestFinalSnapshotNamesAreUniquePerLifeOfTheStack(t *testing.T) {
	// A fixed name would make the destroy of a re-created stack fail on the snapshot the
	// previous destroy left. The suffix is a random id drawn when the stack is created (here
	// derived from its URN); it has no keepers, so nothing later redraws it, and changing a
	// final snapshot's name updates the store in place.
	p := planOf(t, minimalConfig())
	id := p.one(t, "random:index/randomId:RandomId", "final-snapshot")
	assert.Equal(t, float64(4), id.num("byteLength"))
	assert.NotContains(t, id.Inputs, "keepers")
	assert.Regexp(t, `^[0-9a-f]{8}$`, id.Outputs["hex"])
	assert.Contains(t, p.one(t, dbType, "postgres").DependsOn, id.URN)

	staging := planOf(t, with(minimalConfig(), "finalSnapshot=false", "redisSnapshotRetentionDays=1"))
	assert.Empty(t, staging.all("random:index/randomId:RandomId"), "no snapshot, no suffix")
	assert.NotContains(t, staging.Outputs, "databaseFinalSnapshotName")
	assert.True(t, staging.one(t, dbType, "postgres").flag("deleteAutomatedBackups"), "without a final snapshot nothing of the database outlives it")
}
