package main

import (
	"coldchain/internal/guard"
	"coldchain/internal/offline"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The guard suite checks the whole planned stack at once, for every stack file shipped and for
// variations of config, so that a change anywhere cannot quietly break a guarantee. The policy
// is data: each rule has an id, the Security Hub control (or reason) it implements, and a check
// that returns the violations it finds. README's "Guarantees" section lists the rules by id.

// variation is one configuration the guard suite plans: a stack file, released unless it is
// planned as shipped, with overrides.
type variation struct {
	name    string
	stack   string
	sets    []string
	shipped bool
}

const ownCertificate = "certificateArn=arn:aws:acm:ap-northeast-2:123456789012:certificate/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"

var variations = []variation{
	{"production", "production", nil, false},
	{"staging", "staging", nil, false},
	{"production with a domain", "production", []string{"domainName=dispatch.example.com"}, false},
	{"production with its own certificate", "production", []string{ownCertificate}, false},
	{"staging with a domain on ARM64", "staging", []string{"domainName=staging.example.com", "cpuArchitecture=ARM64", "fargateSpot=false"}, false},
	// The longest names leave no room for a DR replica's region suffix (badinput_test.go).
	{"long names", "production", []string{"projectName=abcdefghijklmnopqrst", "environment=production-eu", "drRegion="}, false},
	{"long names with DR", "production", []string{"projectName=abcdefghijkl", "environment=production-eu"}, false},
	{"another region", "production", []string{"aws:region=eu-central-1"}, false},
	{"a new region", "production", []string{"aws:region=ap-southeast-7"}, false},
	{"a /18 VPC", "production", []string{"vpcCidr=10.20.64.0/18"}, false},
	{"a /20 VPC with one NAT gateway", "production", []string{"vpcCidr=172.16.0.0/20", "natGateways=Single"}, false},
	{"production with a worker", "production", withWorker, false},
	{"production before its first release", "production", nil, true},
	{"staging before its first release", "staging", nil, true},
}

var (
	variationPlans   = map[string]*offline.Plan{}
	variationPlansMu sync.Mutex
)

// planOfVariation plans a variation once per test binary.
func planOfVariation(t *testing.T, v variation) *offline.Plan {
	t.Helper()
	variationPlansMu.Lock()
	defer variationPlansMu.Unlock()
	if p, ok := variationPlans[v.name]; ok {
		return p
	}
	var p *offline.Plan
	if v.shipped {
		p = planOfShippedFile(t, v.stack, v.sets...)
	} else {
		p = planOfFile(t, v.stack, v.sets...)
	}
	variationPlans[v.name] = p
	return p
}

func TestSecurityPolicyHoldsForEveryStackAndVariation(t *testing.T) {
	t.Parallel()
	checkVariations(t, guard.Security)
}

// checkVariations runs every rule over the plan of every variation.
func checkVariations(t *testing.T, rules []guard.Rule) {
	for _, v := range variations {
		p := planOfVariation(t, v)
		for _, rule := range rules {
			t.Run(v.name+"/"+rule.ID, func(t *testing.T) {
				for _, violation := range rule.Check(p) {
					t.Errorf("%s (%s) violated in %s: %s", rule.ID, rule.Control, v.name, violation)
				}
			})
		}
	}
}

func TestGuardRulesCatchViolations(t *testing.T) {
	t.Parallel()
	// Each rule is fed a plan broken in the way it guards against, so none can silently pass.
	base := planOfVariation(t, variations[0])
	for _, tc := range []brokenPlan{
		{"SEC-01", func(p *offline.Plan) { p.One(t, dbType, "postgres").Inputs["storageEncrypted"] = false }},
		{"SEC-02", func(p *offline.Plan) { p.One(t, redisType, "redis").Inputs["transitEncryptionEnabled"] = false }},
		{"SEC-03", func(p *offline.Plan) { p.One(t, ingressType, "database-from-backend").Inputs["cidrIpv4"] = "0.0.0.0/0" }},
		{"SEC-04", func(p *offline.Plan) {
			p.One(t, rolePolicy, "backend-task").Inputs["policy"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
		}},
		{"SEC-05", func(p *offline.Plan) {
			r := p.One(t, taskDefType, "backend")
			r.Inputs["containerDefinitions"] = strings.Replace(r.In("containerDefinitions"), `"environment":[`, `"environment":[{"name":"DB_PASSWORD","value":"hunter2"},`, 1)
		}},
		{"SEC-06", func(p *offline.Plan) {
			group := p.One(t, logGroupType, "backend")
			delete(group.Inputs, "retentionInDays")
			delete(group.Outputs, "retentionInDays")
		}},
		{"SEC-07", func(p *offline.Plan) { p.One(t, alarmType, "db-cpu").Inputs["okActions"] = []any{} }},
		{"SEC-08", func(p *offline.Plan) { p.One(t, bucketType, "logs").Provider = "" }},
		{"SEC-09", func(p *offline.Plan) {
			p.One(t, repoType, "backend").Inputs["imageScanningConfiguration"] = map[string]any{"scanOnPush": false}
		}},
		{"SEC-10", func(p *offline.Plan) {
			r := p.One(t, taskDefType, "frontend")
			r.Inputs["containerDefinitions"] = strings.Replace(r.In("containerDefinitions"), `"privileged":false`, `"privileged":true`, 1)
		}},
		{"SEC-10", func(p *offline.Plan) {
			r := p.One(t, taskDefType, "backend")
			r.Inputs["containerDefinitions"] = strings.Replace(r.In("containerDefinitions"), `"readonlyRootFilesystem":true`, `"readonlyRootFilesystem":false`, 1)
		}},
		{"SEC-11", func(p *offline.Plan) {
			p.One(t, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg").Inputs["ingress"] = []any{map[string]any{"fromPort": 0.0}}
		}},
		{"SEC-12", func(p *offline.Plan) { p.One(t, kmsKeyType, "data").Inputs["enableKeyRotation"] = false }},
		{"SEC-13", func(p *offline.Plan) { p.Resources = without(p.Resources, aclAssocType, "waf") }},
		{"SEC-13", func(p *offline.Plan) { p.Resources = without(p.Resources, aclLoggingType, "waf") }},
		{"SEC-13", func(p *offline.Plan) {
			rule := p.One(t, webACLType, "waf").List("rules")[2].(map[string]any)
			rule["visibilityConfig"].(map[string]any)["cloudwatchMetricsEnabled"] = false
		}},
	} {
		broken := clonePlan(t, base)
		tc.break_(broken)
		assertCatches(t, tc.rule, base, broken)
	}
}

// clonePlan deep-copies a plan, so a test can break the copy.
func clonePlan(t *testing.T, p *offline.Plan) *offline.Plan {
	t.Helper()
	out, err := p.Clone()
	require.NoError(t, err)
	return out
}

func TestEveryRuleIsFedABrokenPlan(t *testing.T) {
	t.Parallel()
	// Each rule's broken plans are entries {"<id>", ...} of a table, or an assertCatches call.
	var sources strings.Builder
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	account, err := filepath.Glob("account/*_test.go")
	require.NoError(t, err)
	for _, f := range append(files, account...) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sources.Write(b)
	}
	for _, r := range guard.Rules() {
		assert.Truef(t, strings.Contains(sources.String(), `{"`+r.ID+`", `) || strings.Contains(sources.String(), `assertCatches(t, "`+r.ID+`"`),
			"no broken plan feeds %s", r.ID)
	}
}

func TestReadmeGuaranteesListEveryRule(t *testing.T) {
	t.Parallel()
	section := readmeSection(t, "## Guarantees")
	for _, rules := range [][]guard.Rule{guard.Security, guard.Constraints, guard.DataProtection, guard.Network, guard.Account} {
		for _, r := range rules {
			assert.Containsf(t, section, "**"+r.ID+"**", "README's Guarantees do not list %s", r.ID)
		}
	}
}
