package main

import (
	"coldchain/internal/guard"
	"coldchain/internal/offline"
	"coldchain/internal/schema"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The tests run the program on the offline engine (internal/offline), the same one
// "go run . plan" uses, and assert on the registrations it recorded.

const project = "coldchain"

// The resource types the tests look up, by their token (package guard lists them).
const (
	alarmType          = guard.AlarmType
	scalableTargetType = guard.ScalableTargetType
	scalingPolicyType  = guard.ScalingPolicyType
	dbType             = guard.DbType
	redisType          = guard.RedisType
	logGroupType       = guard.LogGroupType
	secretType         = guard.SecretType
	kmsKeyType         = guard.KmsKeyType
	randomPassType     = guard.RandomPassType
	albType            = guard.AlbType
	tgType             = guard.TgType
	listenerType       = guard.ListenerType
	ruleType           = guard.RuleType
	serviceType        = guard.ServiceType
	taskDefType        = guard.TaskDefType
	roleType           = guard.RoleType
	rolePolicy         = guard.RolePolicy
	recordType         = guard.RecordType
	certType           = guard.CertType
	certValidType      = guard.CertValidType
	sgType             = guard.SgType
	ingressType        = guard.IngressType
	egressType         = guard.EgressType
	subnetType         = guard.SubnetType
	routeType          = guard.RouteType
	natType            = guard.NatType
	bucketType         = guard.BucketType
	repoType           = guard.RepoType
	backupsCopyType    = guard.BackupsCopyType
	webACLType         = guard.WebACLType
	aclAssocType       = guard.AclAssocType
	aclLoggingType     = guard.AclLoggingType
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

// planOfStack plans a stack with the given raw config. Each variation is planned once per test
// binary (tests share the plan: the ones that break a plan on purpose clone it first).
func planOfStack(t testing.TB, stack string, raw map[string]string) *offline.Plan {
	t.Helper()
	p, err := plannedOnce(stack, raw)
	require.NoError(t, err)
	return p
}

// planned holds each variation's plan, keyed by the stack and its sorted config.
var planned sync.Map

type onePlan struct {
	once sync.Once
	plan *offline.Plan
	err  error
}

func plannedOnce(stack string, raw map[string]string) (*offline.Plan, error) {
	var key strings.Builder
	key.WriteString(stack)
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		fmt.Fprintf(&key, "\x00%s=%s", k, raw[k])
	}
	v, _ := planned.LoadOrStore(key.String(), &onePlan{})
	one := v.(*onePlan)
	one.once.Do(func() { one.plan, one.err = planStack(project, stack, raw) })
	return one.plan, one.err
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

// brokenPlan is a plan broken on purpose, the way a guard rule guards against.
type brokenPlan struct {
	rule   string
	break_ func(p *offline.Plan)
}

// parsedPolicy is a policy document as AWS reads it (package guard's type, which the rules read
// too); strs turns its string-or-list fields into a list.
type parsedPolicy = guard.PolicyDocument

var strs = guard.Strs

// bySid returns the statement of a policy with an id, failing the test when there is none.
func bySid(t testing.TB, d parsedPolicy, sid string) guard.Statement {
	t.Helper()
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s
		}
	}
	t.Fatalf("the policy has no statement %q", sid)
	return guard.Statement{}
}

// readmeSection returns the text of a README section, from its heading to the next "## ".
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	for _, path := range docFiles(t) {
		text, err := os.ReadFile(path)
		require.NoError(t, err)
		if _, section, found := strings.Cut(string(text), heading+"\n"); found {
			section, _, _ = strings.Cut(section, "\n## ")
			return section
		}
	}
	t.Fatalf("neither README nor docs/ has a %q section", heading)
	return ""
}

// docFiles are README.md and the files of docs/, the documentation a team reads.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	return append([]string{"README.md"}, docs...)
}

// allDocs is the text of README.md and docs/, together, but the files except names.
func allDocs(t *testing.T, except ...string) string {
	t.Helper()
	var b strings.Builder
	for _, path := range docFiles(t) {
		if slices.Contains(except, path) {
			continue
		}
		text, err := os.ReadFile(path)
		require.NoError(t, err)
		b.Write(text)
		b.WriteString("\n")
	}
	return b.String()
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
	regenerate := fmt.Sprintf("go test -run '^%s$' -update", strings.SplitN(t.Name(), "/", 2)[0])
	require.NoError(t, err, "no golden file yet: %s creates it", regenerate)
	require.Equalf(t, string(want), got, "%s differs from what the test sees: if the change is meant, %s rewrites it (review its diff)", path, regenerate)
}

// schemaOf is the schema table's entry of a type.
func schemaOf(typ string) (*schema.Type, bool) { return schema.Lookup(typ) }
