package main

import (
	"coldchain/internal/limits"
	"coldchain/internal/offline"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sgID(t *testing.T, p *offline.Plan, name string) string {
	t.Helper()
	return p.One(t, sgType, name).ID
}

func TestPostgresIsPrivateEncryptedMultiAZAndBackedUp(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	db := p.One(t, dbType, "postgres")
	key := p.One(t, kmsKeyType, "data")

	assert.Equal(t, "postgres", db.In("engine"))
	assert.Equal(t, "17", db.In("engineVersion"))
	assert.Equal(t, "db.t3.medium", db.In("instanceClass"))
	assert.True(t, db.Flag("multiAz"))
	assert.Equal(t, "gp3", db.In("storageType"))
	assert.Greater(t, db.Num("maxAllocatedStorage"), db.Num("allocatedStorage"), "storage autoscaling is on")
	assert.True(t, db.Flag("storageEncrypted"))
	assert.Equal(t, key.Outputs["arn"], db.In("kmsKeyId"))
	assert.False(t, db.Flag("publiclyAccessible"))
	assert.GreaterOrEqual(t, db.Num("backupRetentionPeriod"), float64(7))
	assert.True(t, db.Flag("deletionProtection"))
	assert.False(t, db.Flag("skipFinalSnapshot"))
	suffix := p.One(t, "random:index/randomId:RandomId", "final-snapshot").Outputs["hex"].(string)
	assert.Equal(t, "coldchain-production-postgres-final-"+suffix, db.In("finalSnapshotIdentifier"))
	assert.Equal(t, db.In("finalSnapshotIdentifier"), p.Outputs["databaseFinalSnapshotName"])
	assert.True(t, db.Flag("copyTagsToSnapshot"))
	assert.False(t, db.Flag("deleteAutomatedBackups"), "automated backups outlive the instance")
	assert.True(t, db.Flag("performanceInsightsEnabled"))
	assert.Equal(t, key.Outputs["arn"], db.In("performanceInsightsKmsKeyId"))
	assert.Equal(t, []any{"postgresql", "upgrade"}, db.List("enabledCloudwatchLogsExports"))
	assert.True(t, db.Flag("autoMinorVersionUpgrade"))
	assert.Equal(t, float64(5432), db.Num("port"))
}

func TestPostgresIsInIsolatedSubnetsBehindTheDatabaseGroupOnly(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	db := p.One(t, dbType, "postgres")
	subnets := p.One(t, "aws:rds/subnetGroup:SubnetGroup", "postgres")

	assert.Equal(t, []any{sgID(t, p, "database-sg")}, db.List("vpcSecurityGroupIds"))
	assert.Equal(t, subnets.Outputs["name"], db.In("dbSubnetGroupName"))
	assert.Equal(t, p.Outputs["isolatedSubnetIds"], subnets.List("subnetIds"))
}

func TestNoDatabasePasswordInConfigOrState(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	db := p.One(t, dbType, "postgres")
	assert.True(t, db.Flag("manageMasterUserPassword"), "RDS manages the master password")
	assert.NotContains(t, db.Inputs, "password")
	assert.Equal(t, p.One(t, kmsKeyType, "data").Outputs["arn"], db.In("masterUserSecretKmsKeyId"))
	secrets := db.Outputs["masterUserSecrets"].([]any)
	assert.Equal(t, secrets[0].(map[string]any)["secretArn"], p.Outputs["databaseSecretArn"])
	assert.Regexp(t, `^arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds!db-`, p.Outputs["databaseSecretArn"])
	assert.NotEqual(t, "postgres", db.In("username"), "the master user is not a reserved name")
}

func TestParameterGroupFamilyMatchesEngineVersionAndForcesTLS(t *testing.T) {
	t.Parallel()
	for version, family := range limits.PostgresFamilies {
		p := planOf(t, with(minimalConfig(), "dbEngineVersion="+version))
		db := p.One(t, dbType, "postgres")
		params := p.One(t, "aws:rds/parameterGroup:ParameterGroup", "postgres")
		assert.Equal(t, version, db.In("engineVersion"))
		assert.Equalf(t, family, params.In("family"), "engine %s", version)
		assert.Equal(t, params.Outputs["name"], db.In("parameterGroupName"))

		values := map[string]any{}
		for _, param := range params.List("parameters") {
			values[param.(map[string]any)["name"].(string)] = param.(map[string]any)["value"]
		}
		assert.Equal(t, "1", values["rds.force_ssl"], "TLS is forced")
	}
}

// TestDbParametersJoinTheProgramsOwn: a team's parameters are set "pending-reboot" (RDS takes
// it for static ones such as shared_preload_libraries, which "immediate" is refused for), may
// change the slow-statement threshold, and never undo TLS (validation refuses rds.force_ssl).
func TestDbParametersJoinTheProgramsOwn(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), `dbParameters={"shared_preload_libraries":"pg_stat_statements","log_min_duration_statement":"500"}`))
	byName := map[string]map[string]any{}
	for _, param := range p.One(t, "aws:rds/parameterGroup:ParameterGroup", "postgres").List("parameters") {
		byName[param.(map[string]any)["name"].(string)] = param.(map[string]any)
	}
	assert.Equal(t, map[string]any{"name": "shared_preload_libraries", "value": "pg_stat_statements", "applyMethod": "pending-reboot"},
		byName["shared_preload_libraries"])
	assert.Equal(t, "500", byName["log_min_duration_statement"]["value"], "the team's threshold, once")
	assert.Equal(t, map[string]any{"name": "rds.force_ssl", "value": "1"}, byName["rds.force_ssl"])
	assert.Len(t, byName, 3)
}

func TestPostgresLogGroupsHaveARetentionAndExistBeforeTheInstance(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "logRetentionDays=60"))
	db := p.One(t, dbType, "postgres")
	for _, export := range []string{"postgresql", "upgrade"} {
		group := p.One(t, logGroupType, "postgres-"+export)
		// The name RDS publishes to: /aws/rds/instance/<identifier>/<log>.
		assert.Equal(t, "/aws/rds/instance/"+db.In("identifier")+"/"+export, group.In("name"))
		assert.Equal(t, float64(60), group.Num("retentionInDays"))
		assert.Contains(t, db.DependsOn, group.URN)
	}
}

func TestDatabaseWindowsHaveTheAWSFormatAndDoNotOverlap(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(project, "production", minimalConfig())
	require.NoError(t, err)
	var p problems
	p.checkWindows("dbBackupWindow", cfg.Database.BackupWindow, "dbMaintenanceWindow", cfg.Database.MaintenanceWindow, 30)
	p.checkWindows("redisSnapshotWindow", cfg.Database.RedisSnapshotWindow, "redisMaintenanceWindow", cfg.Database.RedisMaintenanceWindow, 60)
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
	t.Parallel()
	p := planOf(t, minimalConfig())
	redis := p.One(t, redisType, "redis")
	key := p.One(t, kmsKeyType, "data")
	subnets := p.One(t, "aws:elasticache/subnetGroup:SubnetGroup", "redis")

	assert.Equal(t, "redis", redis.In("engine"))
	assert.Equal(t, "cache.t3.medium", redis.In("nodeType"))
	assert.Equal(t, float64(2), redis.Num("numCacheClusters"))
	assert.True(t, redis.Flag("automaticFailoverEnabled"))
	assert.True(t, redis.Flag("multiAzEnabled"))
	assert.Equal(t, []any{"ap-northeast-2a", "ap-northeast-2b"}, redis.List("preferredCacheClusterAzs"))
	assert.True(t, redis.Flag("atRestEncryptionEnabled"))
	assert.Equal(t, key.Outputs["arn"], redis.In("kmsKeyId"))
	assert.True(t, redis.Flag("transitEncryptionEnabled"))
	assert.Equal(t, offline.SecretPlaceholder, redis.In("authToken"), "the AUTH token is a secret")
	assert.Equal(t, []any{sgID(t, p, "redis-sg")}, redis.List("securityGroupIds"))
	assert.Equal(t, subnets.Outputs["name"], redis.In("subnetGroupName"))
	assert.Equal(t, p.Outputs["isolatedSubnetIds"], subnets.List("subnetIds"))
	assert.Equal(t, float64(7), redis.Num("snapshotRetentionLimit"))
	suffix := p.One(t, "random:index/randomId:RandomId", "final-snapshot").Outputs["hex"].(string)
	assert.Equal(t, "coldchain-production-redis-final-"+suffix, redis.In("finalSnapshotIdentifier"))
	assert.Equal(t, redis.In("finalSnapshotIdentifier"), p.Outputs["redisFinalSnapshotName"])
	assert.Equal(t, redis.Outputs["primaryEndpointAddress"], p.Outputs["redisPrimaryEndpoint"])
}

func TestRedisLogsGoToTheSeedsLogGroupWithARetention(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	group := p.One(t, logGroupType, "redis")
	assert.Equal(t, "/aws/elasticache/redis/coldchain-production", group.In("name"))
	assert.Equal(t, float64(30), group.Num("retentionInDays"))

	types := map[string]bool{}
	for _, d := range p.One(t, redisType, "redis").List("logDeliveryConfigurations") {
		conf := d.(map[string]any)
		assert.Equal(t, group.In("name"), conf["destination"])
		assert.Equal(t, "cloudwatch-logs", conf["destinationType"])
		types[conf["logType"].(string)] = true
	}
	assert.Equal(t, map[string]bool{"slow-log": true, "engine-log": true}, types)
}

func TestRedisAuthTokenSatisfiesElastiCacheRulesAndIsKeptInSecretsManager(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	token := p.One(t, randomPassType, "redis-auth")
	// ElastiCache: 16 to 128 printable characters, none of space, ", / and @.
	assert.GreaterOrEqual(t, token.Num("length"), float64(16))
	assert.LessOrEqual(t, token.Num("length"), float64(128))
	assert.False(t, token.Flag("special"), "letters and digits only, so no forbidden character")
	assert.Equal(t, offline.SecretPlaceholder, token.Outputs["result"], "the token is secret in the state")

	secret := p.One(t, secretType, "redis-auth")
	assert.Equal(t, p.One(t, kmsKeyType, "data").Outputs["arn"], secret.In("kmsKeyId"))
	assert.Equal(t, float64(30), secret.Num("recoveryWindowInDays"))
	version := p.One(t, "aws:secretsmanager/secretVersion:SecretVersion", "redis-auth")
	assert.Equal(t, secret.ID, version.In("secretId"))
	assert.Equal(t, offline.SecretPlaceholder, version.In("secretString"))
	assert.Contains(t, version.DependsOn, token.URN, "the secret holds the generated token")
}

func TestSingleNodeCacheWithoutFailoverIsAllowed(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "redisNodes=1", "redisMultiAz=false", "redisAutomaticFailover=false", "dbMultiAz=false"))
	redis := p.One(t, redisType, "redis")
	assert.Equal(t, float64(1), redis.Num("numCacheClusters"))
	assert.False(t, redis.Flag("automaticFailoverEnabled"))
	assert.False(t, p.One(t, dbType, "postgres").Flag("multiAz"))
}

func TestDestroyTimeSettingsFollowConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "finalSnapshot=false", "dbDeletionProtection=false", "secretRecoveryDays=7"))
	db := p.One(t, dbType, "postgres")
	assert.True(t, db.Flag("skipFinalSnapshot"))
	assert.NotContains(t, db.Inputs, "finalSnapshotIdentifier")
	assert.False(t, db.Flag("deletionProtection"))
	assert.NotContains(t, p.One(t, redisType, "redis").Inputs, "finalSnapshotIdentifier")
	assert.Equal(t, float64(7), p.One(t, secretType, "redis-auth").Num("recoveryWindowInDays"))
}

func TestFinalSnapshotNamesAreUniquePerLifeOfTheStack(t *testing.T) {
	t.Parallel()
	// A fixed name would make the destroy of a re-created stack fail on the snapshot the
	// previous destroy left. The suffix is a random id drawn when the stack is created (here
	// derived from its URN); it has no keepers, so nothing later redraws it, and changing a
	// final snapshot's name updates the store in place.
	p := planOf(t, minimalConfig())
	id := p.One(t, "random:index/randomId:RandomId", "final-snapshot")
	assert.Equal(t, float64(4), id.Num("byteLength"))
	assert.NotContains(t, id.Inputs, "keepers")
	assert.Regexp(t, `^[0-9a-f]{8}$`, id.Outputs["hex"])
	assert.Contains(t, p.One(t, dbType, "postgres").DependsOn, id.URN)

	staging := planOf(t, with(minimalConfig(), "finalSnapshot=false", "redisSnapshotRetentionDays=1"))
	assert.Empty(t, staging.All("random:index/randomId:RandomId"), "no snapshot, no suffix")
	assert.NotContains(t, staging.Outputs, "databaseFinalSnapshotName")
	assert.True(t, staging.One(t, dbType, "postgres").Flag("deleteAutomatedBackups"), "without a final snapshot nothing of the database outlives it")
}

func TestTheCacheRunsValkeyWhenAskedWithTheSameProtection(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "redisEngine=valkey"))
	cache := p.One(t, redisType, "redis")
	assert.Equal(t, "valkey", cache.In("engine"))
	assert.Equal(t, "8.0", cache.In("engineVersion"), "Valkey's default version")
	assert.True(t, cache.Flag("transitEncryptionEnabled"))
	assert.True(t, cache.Flag("atRestEncryptionEnabled"))
	assert.Equal(t, offline.SecretPlaceholder, cache.In("authToken"))
	assert.Equal(t, "redis", p.One(t, redisType, "redis").Name, "the logical name stays")
	assert.Equal(t, "7.2", planOf(t, with(minimalConfig(), "redisEngine=valkey", "redisEngineVersion=7.2")).One(t, redisType, "redis").In("engineVersion"))

	// Graviton classes are accepted for both stores.
	p = planOf(t, with(minimalConfig(), "dbInstanceClass=db.t4g.medium", "redisNodeType=cache.t4g.medium"))
	assert.Equal(t, "db.t4g.medium", p.One(t, dbType, "postgres").In("instanceClass"))
	assert.Equal(t, "cache.t4g.medium", p.One(t, redisType, "redis").In("nodeType"))
}
