package main

import (
	"coldchain/internal/offline"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The tests run the program on the offline engine (internal/offline), the same one
// "go run . plan" uses, and assert on the registrations it recorded.

const project = "coldchain"

// The resource types the tests look up, by their token.
const (
	alarmType          = "aws:cloudwatch/metricAlarm:MetricAlarm"
	scalableTargetType = "aws:appautoscaling/target:Target"
	scalingPolicyType  = "aws:appautoscaling/policy:Policy"
	dbType             = "aws:rds/instance:Instance"
	redisType          = "aws:elasticache/replicationGroup:ReplicationGroup"
	logGroupType       = "aws:cloudwatch/logGroup:LogGroup"
	secretType         = "aws:secretsmanager/secret:Secret"
	kmsKeyType         = "aws:kms/key:Key"
	randomPassType     = "random:index/randomPassword:RandomPassword"
	albType            = "aws:lb/loadBalancer:LoadBalancer"
	tgType             = "aws:lb/targetGroup:TargetGroup"
	listenerType       = "aws:lb/listener:Listener"
	ruleType           = "aws:lb/listenerRule:ListenerRule"
	serviceType        = "aws:ecs/service:Service"
	taskDefType        = "aws:ecs/taskDefinition:TaskDefinition"
	roleType           = "aws:iam/role:Role"
	rolePolicy         = "aws:iam/rolePolicy:RolePolicy"
	recordType         = "aws:route53/record:Record"
	certType           = "aws:acm/certificate:Certificate"
	certValidType      = "aws:acm/certificateValidation:CertificateValidation"
	sgType             = "aws:ec2/securityGroup:SecurityGroup"
	ingressType        = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	egressType         = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	subnetType         = "aws:ec2/subnet:Subnet"
	routeType          = "aws:ec2/route:Route"
	natType            = "aws:ec2/natGateway:NatGateway"
	bucketType         = "aws:s3/bucketV2:BucketV2"
	repoType           = "aws:ecr/repository:Repository"
)

// releaseTag is the image tag the tests release: a stack plans its services once their
// image tags are set.
const releaseTag = "0a1b2c3"

// released are the overrides that release both services.
func released() []string {
	return []string{"backendImageTag=" + releaseTag, "frontendImageTag=" + releaseTag}
}

// minimalConfig is the smallest valid config of a released stack: everything but the alarm
// address and the image tags takes its default.
func minimalConfig() map[string]string {
	return with(map[string]string{"coldchain:alarmEmail": "ops@example.com"}, released()...)
}

// with returns raw plus overrides given as "key=value" (bare keys get the project namespace).
func with(raw map[string]string, sets ...string) map[string]string {
	out := map[string]string{}
	for k, v := range raw {
		out[k] = v
	}
	for _, kv := range sets {
		k, v, _ := strings.Cut(kv, "=")
		out[offline.Qualify(project, k)] = v
	}
	return out
}

// planOf plans the stack "production" with the given raw config and fails the test on error.
func planOf(t testing.TB, raw map[string]string) *offline.Plan {
	t.Helper()
	return planOfStack(t, "production", raw)
}

func planOfStack(t testing.TB, stack string, raw map[string]string) *offline.Plan {
	t.Helper()
	p, err := planStack(project, stack, raw)
	require.NoError(t, err)
	return p
}

// planOfFile plans a shipped stack file as released (its image tags set), with optional
// overrides.
func planOfFile(t testing.TB, stack string, sets ...string) *offline.Plan {
	t.Helper()
	return planOfShippedFile(t, stack, append(released(), sets...)...)
}

// planOfShippedFile plans a stack file as shipped, before its first release, with optional
// overrides.
func planOfShippedFile(t testing.TB, stack string, sets ...string) *offline.Plan {
	t.Helper()
	raw, err := offline.LoadStackConfig(".", project, stack)
	require.NoError(t, err)
	return planOfStack(t, stack, with(raw, sets...))
}

// parsedPolicy is a policy document as AWS reads it; Action, Resource and Principal may be a
// string or a list, so they stay untyped.
type parsedPolicy struct {
	Version   string
	Statement []parsedStatement
}

type parsedStatement struct {
	Sid       string
	Effect    string
	Principal any
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

// bySid returns the statement with an id, failing the test when there is none.
func (d parsedPolicy) bySid(t testing.TB, sid string) parsedStatement {
	t.Helper()
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s
		}
	}
	t.Fatalf("the policy has no statement %q", sid)
	return parsedStatement{}
}

// strs turns a policy's string-or-list field into a list.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

// readmeSection returns the text of a README section, from its heading to the next "## ".
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, section, found := strings.Cut(string(readme), heading+"\n")
	require.Truef(t, found, "README has no %q section", heading)
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata from what the tests see")

// golden compares got with the golden file testdata/name, or rewrites the file under -update.
// A golden file is reviewed like code: a change to one says what moved and why.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run the test with -update to create the golden file")
	require.Equalf(t, string(want), got, "%s differs from what the test sees", path)
}
