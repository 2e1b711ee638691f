package main

import (
	"coldchain/internal/limits"
	"coldchain/internal/offline"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigDefaultsAreTheSeedValues(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(project, "production", minimalConfig())
	require.NoError(t, err)

	assert.Equal(t, "coldchain", cfg.ProjectName)
	assert.Equal(t, "production", cfg.Environment, "environment defaults to the stack name")
	assert.Equal(t, "ap-northeast-2", cfg.Region)
	assert.Equal(t, "10.0.0.0/16", cfg.VpcCidr)
	assert.Equal(t, "db.t3.medium", cfg.Database.InstanceClass)
	assert.Equal(t, "cache.t3.medium", cfg.Database.RedisNodeType)
	assert.Equal(t, 1024, cfg.Service("backend").CPU)
	assert.Equal(t, 2048, cfg.Service("backend").Memory)
	assert.Equal(t, "", cfg.Routing.DomainName, "no domain by default")
	assert.Equal(t, "ops@example.com", cfg.AlarmEmail)
	assert.Equal(t, "", cfg.UploadsBucketName, "bucket names are derived when unset")
	assert.Equal(t, "OnePerAz", cfg.NatGateways)
	assert.Equal(t, "coldchain-production", cfg.Prefix())
}

func TestEnvironmentDefaultsToTheStackName(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(project, "staging", minimalConfig())
	require.NoError(t, err)
	assert.Equal(t, "staging", cfg.Environment)
	assert.Equal(t, "coldchain-staging", cfg.Prefix())
}

func TestConfigReadsEveryValueType(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(project, "production", with(minimalConfig(),
		"aws:region=us-west-2",
		"backendCpu=2048", "backendMemory=4096",
		`tags={"CostCenter":"logistics"}`,
		"allowedAccountIds=111111111111,222222222222",
	))
	require.NoError(t, err)
	assert.Equal(t, "us-west-2", cfg.Region)
	assert.Equal(t, 2048, cfg.Service("backend").CPU)
	assert.Equal(t, 4096, cfg.Service("backend").Memory)
	assert.Equal(t, []string{"111111111111", "222222222222"}, cfg.AllowedAccountIDs)
	assert.Equal(t, map[string]string{
		"CostCenter": "logistics", "Project": "coldchain", "Environment": "production", "ManagedBy": "pulumi",
	}, cfg.DefaultTags())
}

func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(project, "production", with(minimalConfig(),
		"backendCpu=lots", "vpcCidr=10.0.0.0/8", "alarmEmail=nobody", "vpcCdir=x"))
	var cfgErr *ConfigError
	require.True(t, errors.As(err, &cfgErr))
	var keys []string
	for _, p := range cfgErr.Problems {
		keys = append(keys, p.Key)
	}
	assert.ElementsMatch(t, []string{"backendCpu", "vpcCidr", "alarmEmail", "vpcCdir"}, keys)
}

func TestUnknownKeySuggestsTheKnownOne(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(project, "production", with(minimalConfig(), "vpcCdir=10.1.0.0/16"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `vpcCdir = "10.1.0.0/16"`)
	assert.Contains(t, err.Error(), "did you mean vpcCidr?")
}

func TestKeysOfOtherNamespacesAreCheckedToo(t *testing.T) {
	t.Parallel()
	// The program deploys through an explicit provider that takes aws:region and aws:profile
	// only: any other aws: key would silently do nothing, and a typo would deploy the default.
	for key, want := range map[string]string{
		"aws:regoin":               "did you mean aws:region?",
		"aws:skipMetadataApiCheck": "the only aws: keys the program's explicit provider takes",
		"aws:allowedAccountIds":    "set allowedAccountIds instead",
		"random:seed":              "a key of this project (coldchain:...)",
	} {
		_, err := loadConfig(project, "production", with(minimalConfig(), key+"=x"))
		require.Errorf(t, err, "%s is accepted", key)
		assert.Contains(t, err.Error(), key+` = "x": must be`)
		assert.Contains(t, err.Error(), want)
	}
	// The pulumi: namespace is the CLI's own.
	_, err := loadConfig(project, "production", with(minimalConfig(), "pulumi:disable-default-providers=[\"aws\"]"))
	assert.NoError(t, err)
}

func TestEncryptedValuesPlanAsPlaceholdersThatPassValidation(t *testing.T) {
	t.Parallel()
	// A secure: value is unknown offline; the plan stands in the key's default, or "[secret]"
	// where it has none, and leaves the check of the real value to "pulumi up".
	raw := with(minimalConfig(), "alarmEmail="+offline.SecretPlaceholder, "backendCpu="+offline.SecretPlaceholder,
		"allowedAccountIds="+offline.SecretPlaceholder, "vpcCidr="+offline.SecretPlaceholder)
	cfg, err := loadConfig(project, "production", raw)
	require.NoError(t, err)
	assert.Equal(t, offline.SecretPlaceholder, cfg.AlarmEmail)
	assert.Equal(t, 1024, cfg.Service("backend").CPU)
	assert.Equal(t, "10.0.0.0/16", cfg.VpcCidr)
	assert.Empty(t, cfg.AllowedAccountIDs)
	p := planOf(t, raw)
	assert.Equal(t, offline.SecretPlaceholder, p.One(t, "aws:sns/topicSubscription:TopicSubscription", "alarms-email").In("endpoint"))
}

func TestOneProblemIsOneProblem(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(project, "production", with(minimalConfig(), "backendCpu=lots"))
	assert.ErrorContains(t, err, "invalid configuration (1 problem):")
	_, err = loadConfig(project, "production", with(minimalConfig(), "backendCpu=lots", "frontendCpu=lots"))
	assert.ErrorContains(t, err, "invalid configuration (2 problems):")
}

func TestFargatePairs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cpu, memory int
		ok          bool
	}{
		{256, 512, true}, {256, 2048, true}, {256, 3072, false},
		{512, 1024, true}, {512, 4096, true}, {512, 5120, false},
		{1024, 2048, true}, {1024, 8192, true}, {1024, 1024, false}, {1024, 2500, false},
		{2048, 4096, true}, {2048, 16384, true}, {2048, 17408, false},
		{4096, 8192, true}, {4096, 30720, true}, {4096, 31744, false},
		{8192, 16384, true}, {8192, 20480, true}, {8192, 17408, false},
		{16384, 32768, true}, {16384, 122880, true}, {16384, 36864, false},
		{3000, 6144, false},
	} {
		assert.Equalf(t, tc.ok, limits.ValidFargatePair(tc.cpu, tc.memory), "cpu %d memory %d", tc.cpu, tc.memory)
	}
}

func TestBucketNameRules(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"coldchain-production-uploads-123456789012": true,
		"abc":                   true,
		"ab":                    false,
		strings.Repeat("a", 63): true,
		strings.Repeat("a", 64): false,
		"-starts-with-hyphen":   false,
		"ends-with-hyphen-":     false,
		"has_underscore":        false,
		"has.dot":               false,
		"10.0.0.1":              false,
		"sthree-bucket":         false,
		"bucket--ol-s3":         false,
	} {
		assert.Equalf(t, ok, limits.BucketNameProblem(name) == "", "bucket name %q: problem %q", name, limits.BucketNameProblem(name))
	}
}

// TestReadmeConfigurationTableListsEveryKey keeps README's configuration table true: every key
// the program reads is in it, and it names no key the program does not read.
func TestReadmeConfigurationTableListsEveryKey(t *testing.T) {
	t.Parallel()
	section := readmeSection(t, "## Configuration")
	documented := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[2], -1) {
			documented[m[1]] = true
		}
	}
	known := configKeys(project)
	for _, key := range known {
		assert.Truef(t, documented[key], "README's configuration table does not list %s", key)
	}
	for key := range documented {
		assert.Containsf(t, known, key, "README documents %s, which the program does not read", key)
	}
}

// TestTheConfigurationDocSaysTheDefaultsTheCodeHas: every key whose documented default is a
// literal has that default in config.go (readConfig, the one place defaults are written).
func TestTheConfigurationDocSaysTheDefaultsTheCodeHas(t *testing.T) {
	t.Parallel()
	_, r := readConfig(project, "", map[string]string{})
	checked := 0
	for _, line := range strings.Split(readmeSection(t, "## Configuration"), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			continue
		}
		keys := regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[2], -1)
		def := regexp.MustCompile("^\\s*`([^`]*)`").FindStringSubmatch(cells[3])
		if len(keys) != 1 || def == nil {
			continue // several keys, or a default in words ("unset", "the stack name")
		}
		key := keys[0][1]
		code, ok := r.defaults[key]
		if !assert.Truef(t, ok, "the doc gives %s a default, which the program reads without one", key) {
			continue
		}
		if code == "" {
			code = "unset"
		}
		// The doc writes the name prefix as <prefix>; a stack without a name has "coldchain-".
		assert.Equalf(t, strings.ReplaceAll(def[1], "<prefix>", "coldchain-"), code, "the documented default of %s", key)
		checked++
	}
	assert.Greater(t, checked, 60, "the table's defaults were read")
}
