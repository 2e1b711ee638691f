package main

import (
	"bytes"
	"coldchain/internal/offline"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// badInputs run through the real entry point, "go run . plan" built once as a process. Each
// must exit 1 with a message naming every bad key, print no plan, and never panic.
var badInputs = []struct {
	name string
	args []string
	keys []string
}{
	{"cpu is not a number", []string{"-c", "backendCpu=lots"}, []string{"backendCpu"}},
	{"memory has a unit", []string{"-c", "backendMemory=2GB"}, []string{"backendMemory"}},
	{"a flag is not a boolean", []string{"-c", "protect=maybe"}, []string{"protect"}},
	{"a threshold is not a number", []string{"-c", "alarmResponseTimeP95Seconds=NaN"}, []string{"alarmResponseTimeP95Seconds"}},
	{"cpu is no Fargate size", []string{"-c", "backendCpu=1000"}, []string{"backendCpu"}},
	{"memory does not fit the cpu", []string{"-c", "frontendCpu=256", "-c", "frontendMemory=4096"}, []string{"frontendMemory"}},
	{"min tasks above max", []string{"-c", "backendMinTasks=5", "-c", "backendMaxTasks=3"}, []string{"backendMaxTasks"}},
	{"Multi-AZ cache without failover", []string{"-c", "redisMultiAz=true", "-c", "redisAutomaticFailover=false"}, []string{"redisMultiAz"}},
	{"failover without a replica", []string{"-c", "redisNodes=1", "-c", "redisMultiAz=false"}, []string{"redisAutomaticFailover"}},
	{"CIDR prefix out of range", []string{"-c", "vpcCidr=10.0.0.0/33"}, []string{"vpcCidr"}},
	{"CIDR with three octets", []string{"-c", "vpcCidr=10.0.0/16"}, []string{"vpcCidr"}},
	{"public CIDR", []string{"-c", "vpcCidr=8.8.0.0/16"}, []string{"vpcCidr"}},
	{"e-mail without @", []string{"-c", "alarmEmail=ops.example.com"}, []string{"alarmEmail"}},
	{"e-mail missing", []string{"-c", "alarmEmail="}, []string{"alarmEmail"}},
	{"domain with an underscore", []string{"-c", "domainName=bad_domain.com"}, []string{"domainName"}},
	{"domain of one label", []string{"-c", "domainName=localhost"}, []string{"domainName"}},
	{"bucket name with uppercase", []string{"-c", "uploadsBucketName=Upper_Case"}, []string{"uploadsBucketName"}},
	{"bucket name too short", []string{"-c", "logsBucketName=ab"}, []string{"logsBucketName"}},
	{"bucket name with dots", []string{"-c", "backupsBucketName=my.bucket.name"}, []string{"backupsBucketName"}},
	{"typo in a key", []string{"-c", "vpcCdir=10.1.0.0/16"}, []string{"vpcCdir"}},
	{"wrong case in a key", []string{"-c", "backendcpu=1024"}, []string{"backendcpu"}},
	{"region name", []string{"-c", "aws:region=seoul"}, []string{"aws:region"}},
	{"instance class without db.", []string{"-c", "dbInstanceClass=m5.large"}, []string{"dbInstanceClass"}},
	{"previous-generation cache node", []string{"-c", "redisNodeType=cache.m1.small"}, []string{"redisNodeType"}},
	{"unsupported PostgreSQL", []string{"-c", "dbEngineVersion=9.6"}, []string{"dbEngineVersion"}},
	{"window past midnight", []string{"-c", "dbBackupWindow=25:00-26:00"}, []string{"dbBackupWindow"}},
	{"overlapping windows", []string{"-c", "dbBackupWindow=18:00-19:00", "-c", "dbMaintenanceWindow=sun:18:30-sun:19:30"}, []string{"dbMaintenanceWindow"}},
	{"path pattern without /", []string{"-c", "backendPathPatterns=api"}, []string{"backendPathPatterns"}},
	{"certificate of another region", []string{"-c", "certificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"}, []string{"certificateArn"}},
	{"secret that is a plain value", []string{"-c", `backendSecrets={"API_KEY":"sk-live-123"}`}, []string{"backendSecrets"}},
	{"reserved tag", []string{"-c", `tags={"aws:owner":"ops"}`}, []string{"tags"}},
	{"retention CloudWatch does not offer", []string{"-c", "logRetentionDays=45"}, []string{"logRetentionDays"}},
	{"port zero", []string{"-c", "frontendPort=0"}, []string{"frontendPort"}},
	{"architecture spelled wrong", []string{"-c", "cpuArchitecture=x86"}, []string{"cpuArchitecture"}},
	{"staging with a bad flag", []string{"--stack", "staging", "-c", "fargateSpot=yes"}, []string{"fargateSpot"}},
	{"three problems at once", []string{"-c", "backendCpu=lots", "-c", "vpcCidr=x", "-c", "alarmEmail=y"}, []string{"backendCpu", "vpcCidr", "alarmEmail"}},
}

// asProgram, set in a test binary's environment, makes it run the program's own main instead
// of the tests: the tests run the real entry point as a process without building (and linking)
// the program a second time.
const asProgram = "COLDCHAIN_TEST_AS_PROGRAM"

func TestMain(m *testing.M) {
	if os.Getenv(asProgram) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// program is the program, run as a process with args, as a person at a terminal would run it.
func program(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asProgram+"=1", "PULUMI_MONITOR=")
	return cmd
}

func TestBadInputThroughTheEntryPoint(t *testing.T) {
	require.GreaterOrEqual(t, len(badInputs), 30)
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := program(append([]string{"plan"}, tc.args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.Truef(t, errors.As(err, &exit), "plan %v: want exit status 1, got %v", tc.args, err)
			assert.Equalf(t, 1, exit.ExitCode(), "plan %v", tc.args)
			assert.Emptyf(t, stdout.String(), "plan %v printed a plan", tc.args)
			msg := stderr.String()
			for _, key := range tc.keys {
				assert.Containsf(t, msg, key+" = ", "plan %v: the message does not name %s:\n%s", tc.args, key, msg)
			}
			assert.Contains(t, msg, "must be", "the message says what is allowed")
			for _, trace := range []string{"panic", "goroutine", ".go:"} {
				assert.NotContainsf(t, msg, trace, "plan %v: %s in the output:\n%s", tc.args, trace, msg)
			}
		})
	}
}

func TestTheProgramSaysWhatItIsAndHowToRunIt(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		cmd := program(args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		return code, stdout.String(), stderr.String()
	}
	for _, help := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, _ := run(help...)
		assert.Equalf(t, 0, code, "%v", help)
		assert.Containsf(t, out, `"pulumi preview" and "pulumi up" run it`, "%v", help)
		assert.Containsf(t, out, "go run . plan [--stack NAME] [--json] [-c key=value ...]", "%v", help)
	}
	code, out, errOut := run()
	assert.Equal(t, 2, code, "no command outside a Pulumi run is misuse")
	assert.Empty(t, out)
	assert.Contains(t, errOut, "go run . plan")
	code, _, errOut = run("deploy")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown command "deploy"`)
	code, _, _ = run("plan", "--help")
	assert.Equal(t, 0, code)
	code, _, _ = run("plan", "--no-such-flag")
	assert.Equal(t, 2, code)
	code, _, errOut = run("plan", "--stack", "prod")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `stack "prod" has no config file ./Pulumi.prod.yaml; the stacks here are: production, staging`)
}

func TestGoodInputThroughTheEntryPoint(t *testing.T) {
	out, err := program("plan", "--stack", "staging").Output()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(out), "Plan of coldchain/staging"))
}

// FuzzConfig feeds arbitrary values to every config key: loading must never panic, and either
// accept a config that validates or reject it with problems that name keys.
func FuzzConfig(f *testing.F) {
	for _, tc := range badConfigs {
		for _, kv := range tc.sets {
			k, v, _ := strings.Cut(kv, "=")
			f.Add(k, v)
		}
	}
	for _, tc := range badInputs {
		for i := 0; i+1 < len(tc.args); i += 2 {
			if tc.args[i] == "-c" {
				k, v, _ := strings.Cut(tc.args[i+1], "=")
				f.Add(k, v)
			}
		}
	}
	f.Add("backendSecrets", `{"A":"/x","B":"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:x"}`)
	f.Add("backendPathPatterns", `["/a",`)
	f.Fuzz(func(t *testing.T, key, value string) {
		if value == offline.SecretPlaceholder {
			return // an encrypted value, which only "pulumi up" can check
		}
		raw := minimalConfig()
		key = offline.Qualify(project, key)
		raw[key] = value
		cfg, err := loadConfig(project, "production", raw)
		if err != nil {
			var cfgErr *ConfigError
			if !errors.As(err, &cfgErr) || len(cfgErr.Problems) == 0 {
				t.Fatalf("%s=%q: error %v is not a config error with problems", key, value, err)
			}
			for _, p := range cfgErr.Problems {
				if p.Key == "" || p.Allowed == "" {
					t.Fatalf("%s=%q: problem %+v names no key or allowed value", key, value, p)
				}
			}
			return
		}
		if problems := cfg.validate(); len(problems) > 0 {
			t.Fatalf("%s=%q: accepted config fails validation: %v", key, value, problems)
		}
	})
}
