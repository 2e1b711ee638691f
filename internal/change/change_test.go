package change

import (
	"bytes"
	"coldchain/internal/plan"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const prov = "urn:pulumi:prod::app::pulumi:providers:aws::aws"

// res is a custom resource of a test plan, under the explicit provider.
func res(typ, name string, inputs map[string]any, opts ...func(*plan.PlanResource)) *plan.PlanResource {
	r := &plan.PlanResource{
		URN: "urn:pulumi:prod::app::" + typ + "::" + name, Type: typ, Name: name, Custom: true,
		Provider: prov + "::p1", Inputs: inputs, Outputs: map[string]any{}, ID: name + "-id",
	}
	for k, v := range inputs {
		r.Outputs[k] = v
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

func provider(region string) *plan.PlanResource {
	return &plan.PlanResource{URN: prov, Type: "pulumi:providers:aws", Name: "aws", Custom: true,
		Inputs: map[string]any{"region": region}, Outputs: map[string]any{"region": region}, ID: "p1"}
}

func plans(before, after []*plan.PlanResource) (*plan.Plan, *plan.Plan) {
	return &plan.Plan{Project: "app", Stack: "prod", Resources: before},
		&plan.Plan{Project: "app", Stack: "prod", Resources: after}
}

func stepOf(t *testing.T, p *Preview, name string) *Step {
	t.Helper()
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step for %s", name)
	return nil
}

func output(key string, v any) func(*plan.PlanResource) {
	return func(r *plan.PlanResource) { r.Outputs[key] = v }
}

func dependsOn(urns ...string) func(*plan.PlanResource) {
	return func(r *plan.PlanResource) { r.DependsOn = urns }
}

const groupType = "aws:cloudwatch/logGroup:LogGroup"

func TestAnUnchangedPlanIsAllSame(t *testing.T) {
	group := res(groupType, "logs", map[string]any{"name": "/app/logs", "retentionInDays": 30.0})
	before, after := plans([]*plan.PlanResource{provider("ap-northeast-2"), group}, []*plan.PlanResource{provider("ap-northeast-2"), group})
	p := Compute(before, after)
	assert.Equal(t, map[string]int{"same": 2}, p.ChangeSummary)
}

// TestAnExplicitlyNamedResourceIsReplacedDeleteFirstAsTheBridgeDoes: a log group whose name the
// program sets is replaced delete-first (the bridge's nameRequiresDeleteBeforeReplace), unless
// the program says deleteBeforeReplace false; an updatable input is an update.
func TestAnExplicitlyNamedResourceIsReplacedDeleteFirstAsTheBridgeDoes(t *testing.T) {
	old := res(groupType, "logs", map[string]any{"name": "/app/logs", "retentionInDays": 30.0})
	renamed := res(groupType, "logs", map[string]any{"name": "/app/new", "retentionInDays": 30.0})
	before, after := plans([]*plan.PlanResource{old}, []*plan.PlanResource{renamed})
	s := stepOf(t, Compute(before, after), "logs")
	assert.Equal(t, OpReplace, s.Op)
	assert.Equal(t, []string{"name"}, s.ReplaceReasons)
	assert.True(t, s.DeleteBeforeReplace)
	assert.Equal(t, PropertyDiff{Kind: "update-replace", InputDiff: true, Old: "/app/logs", New: "/app/new"}, s.DetailedDiff["name"])

	renamed.DeleteBeforeReplaceDefined, renamed.DeleteBeforeReplace = true, false
	assert.False(t, stepOf(t, Compute(before, after), "logs").DeleteBeforeReplace, "the program's false overrides the provider")

	longer := res(groupType, "logs", map[string]any{"name": "/app/logs", "retentionInDays": 90.0})
	before, after = plans([]*plan.PlanResource{old}, []*plan.PlanResource{longer})
	s = stepOf(t, Compute(before, after), "logs")
	assert.Equal(t, OpUpdate, s.Op)
	assert.Equal(t, []string{"retentionInDays"}, s.DiffReasons)
	assert.Empty(t, s.ReplaceReasons)
}

// TestAReplacementsNewIdsAreUnknownToWhatReadsThem: a replaced security group gets a new id,
// unknown until the update; a rule that names it (a replacing input) is replaced, a database
// that lists it (an updatable input) is updated, and a resource that does not read it stays.
func TestAReplacementsNewIdsAreUnknownToWhatReadsThem(t *testing.T) {
	sgType, ruleType := "aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	sg := func(vpc string) *plan.PlanResource {
		return res(sgType, "db-sg", map[string]any{"vpcId": vpc, "description": "db"}, output("name", "db-sg-1234567"))
	}
	sgURN := sg("").URN
	rule := res(ruleType, "db-in", map[string]any{"securityGroupId": "db-sg-id", "fromPort": 5432.0}, dependsOn(sgURN))
	db := res("aws:rds/instance:Instance", "db", map[string]any{"vpcSecurityGroupIds": []any{"db-sg-id"}, "instanceClass": "db.t3.medium"},
		dependsOn(sgURN))
	other := res(groupType, "other", map[string]any{"name": "/other"})
	before, after := plans([]*plan.PlanResource{sg("vpc-0aaaaaaaaaaaaaaaa"), rule, db, other},
		[]*plan.PlanResource{sg("vpc-0bbbbbbbbbbbbbbbb"), rule, db, other})
	p := Compute(before, after)
	assert.Equal(t, OpReplace, stepOf(t, p, "db-sg").Op)
	assert.False(t, stepOf(t, p, "db-sg").DeleteBeforeReplace, "an autonamed group gets a new name: created first")
	r := stepOf(t, p, "db-in")
	assert.Equal(t, OpReplace, r.Op)
	assert.Equal(t, plan.UnknownPrefix+sgURN, r.DetailedDiff["securityGroupId"].New)
	assert.Equal(t, OpUpdate, stepOf(t, p, "db").Op)
	assert.Equal(t, []string{"vpcSecurityGroupIds"}, stepOf(t, p, "db").DiffReasons)
	assert.Equal(t, OpSame, stepOf(t, p, "other").Op)
}

// TestAnAliasedResourceKeepsWhatTheStackHolds: a resource moved under another parent, with an
// alias from its old URN, is the same resource; the values AWS gave it (here a fake id that
// derives from the new URN) are the stack's for what reads them.
func TestAnAliasedResourceKeepsWhatTheStackHolds(t *testing.T) {
	oldKey := res("aws:kms/key:Key", "alarms", map[string]any{"description": "alarms"}, output("arn", "arn:aws:kms:ap-northeast-2:111122223333:key/old-uuid-0000"))
	newKey := res("aws:kms/key:Key", "alarms", map[string]any{"description": "alarms"}, output("arn", "arn:aws:kms:ap-northeast-2:111122223333:key/new-uuid-1111"))
	newKey.URN = "urn:pulumi:prod::app::my:index:Topic$aws:kms/key:Key::alarms"
	newKey.Aliases = []string{oldKey.URN}
	newKey.ID = "new-uuid-1111"
	topic := func(key string, deps ...string) *plan.PlanResource {
		return res("aws:sns/topic:Topic", "alarms", map[string]any{"name": "app-alarms", "kmsMasterKeyId": key}, dependsOn(deps...))
	}
	before, after := plans([]*plan.PlanResource{oldKey, topic("arn:aws:kms:ap-northeast-2:111122223333:key/old-uuid-0000", oldKey.URN)},
		[]*plan.PlanResource{newKey, topic("arn:aws:kms:ap-northeast-2:111122223333:key/new-uuid-1111", newKey.URN)})
	p := Compute(before, after)
	assert.Equal(t, map[string]int{"same": 2}, p.ChangeSummary)
	assert.Equal(t, oldKey.URN, stepOf(t, p, "alarms").OldURN)

	newKey.Aliases = nil
	p = Compute(before, after)
	assert.Equal(t, 1, p.ChangeSummary["create"], "without the alias the key is another resource")
	assert.Equal(t, 1, p.ChangeSummary["delete"])
	assert.Equal(t, 1, p.ChangeSummary["update"], "and the topic follows the new key")
}

func TestProtectStopsAReplacementAndADeleteButNotAnUpdate(t *testing.T) {
	bucketType := "aws:s3/bucketV2:BucketV2"
	protected := func(r *plan.PlanResource) { r.Protect = true }
	data := res(bucketType, "data", map[string]any{"bucket": "app-data", "forceDestroy": false}, protected)
	moved := res(bucketType, "data", map[string]any{"bucket": "app-data-2", "forceDestroy": false}, protected)
	gone := res(bucketType, "old", map[string]any{"bucket": "app-old"}, protected)
	before, after := plans([]*plan.PlanResource{data, gone}, []*plan.PlanResource{moved})
	p := Compute(before, after)
	assert.True(t, stepOf(t, p, "data").Protected)
	assert.True(t, stepOf(t, p, "old").Protected)
	assert.Len(t, p.Blocked(), 2)
	assert.Contains(t, p.Summary(), "pulumi up stops at 2 protected")

	toggled := res(bucketType, "data", map[string]any{"bucket": "app-data", "forceDestroy": true}, protected)
	before, after = plans([]*plan.PlanResource{data}, []*plan.PlanResource{toggled})
	assert.False(t, stepOf(t, Compute(before, after), "data").Protected)
}

// TestAWSDefersADatabaseResizeToTheMaintenanceWindow follows the RDS User Guide's "Settings for
// DB instances": the class waits for the window, the backup window does not.
func TestAWSDefersADatabaseResizeToTheMaintenanceWindow(t *testing.T) {
	dbType := "aws:rds/instance:Instance"
	db := func(class, window string, extra ...func(*plan.PlanResource)) *plan.PlanResource {
		return res(dbType, "db", map[string]any{"instanceClass": class, "backupWindow": window, "backupRetentionPeriod": 7.0}, extra...)
	}
	before, after := plans([]*plan.PlanResource{db("db.t3.medium", "17:00-18:00")}, []*plan.PlanResource{db("db.t3.large", "16:00-17:00")})
	s := stepOf(t, Compute(before, after), "db")
	assert.Equal(t, OpUpdate, s.Op)
	assert.Equal(t, []string{"instanceClass"}, s.Deferred)

	now := func(r *plan.PlanResource) { r.Inputs["applyImmediately"] = true }
	before, after = plans([]*plan.PlanResource{db("db.t3.medium", "17:00-18:00")}, []*plan.PlanResource{db("db.t3.large", "17:00-18:00", now)})
	assert.Empty(t, stepOf(t, Compute(before, after), "db").Deferred)
}

// TestARegionChangeReplacesTheProviderAndWhatItManages: pulumi-aws replaces a provider whose
// region changes, and every resource it manages with it.
func TestARegionChangeReplacesTheProviderAndWhatItManages(t *testing.T) {
	group := res(groupType, "logs", map[string]any{"name": "/app/logs"})
	before, after := plans([]*plan.PlanResource{provider("ap-northeast-1"), group}, []*plan.PlanResource{provider("ap-southeast-1"), group})
	p := Compute(before, after)
	assert.Equal(t, OpReplace, stepOf(t, p, "aws").Op)
	s := stepOf(t, p, "logs")
	assert.Equal(t, OpReplace, s.Op)
	assert.Equal(t, []string{"provider"}, s.ReplaceReasons)
}

func TestIgnoredChangesAreNoChange(t *testing.T) {
	pgType := "aws:rds/parameterGroup:ParameterGroup"
	ignore := func(r *plan.PlanResource) { r.IgnoreChanges = []string{"description"} }
	before, after := plans([]*plan.PlanResource{res(pgType, "pg", map[string]any{"description": "Managed by Terraform", "family": "postgres16"})},
		[]*plan.PlanResource{res(pgType, "pg", map[string]any{"description": "PostgreSQL 16", "family": "postgres16"}, ignore)})
	assert.Equal(t, OpSame, stepOf(t, Compute(before, after), "pg").Op)
}

func TestTheReviewTextSaysReplaceDeleteFirstAndTheValuesInsideADocument(t *testing.T) {
	policyType := "aws:ecr/lifecyclePolicy:LifecyclePolicy"
	doc := func(tag string) string {
		return `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["` + tag + `"]}}]}`
	}
	before, after := plans([]*plan.PlanResource{res(policyType, "backend", map[string]any{"repository": "app/backend", "policy": doc("v1")})},
		[]*plan.PlanResource{res(policyType, "backend", map[string]any{"repository": "app/backend", "policy": doc("v2")})})
	var out bytes.Buffer
	Compute(before, after).Write(&out, "before.json")
	text := out.String()
	assert.Contains(t, text, "1 to replace (1 deleted first)")
	assert.Contains(t, text, "-/+ aws:ecr/lifecyclePolicy:LifecyclePolicy  backend  (replaced: the old one deleted first; because of policy)")
	assert.Contains(t, text, `.rules[0].selection.tagPatternList[0]: "v1" -> "v2"`)
}

// TestAStackExportIsReadAsThePlanItHolds reads a stack export written as "pulumi stack export"
// writes one (version 3, the engine's secret and resource signatures, __defaults).
func TestAStackExportIsReadAsThePlanItHolds(t *testing.T) {
	export := `{"version": 3, "deployment": {"manifest": {"time": "2026-11-30T10:00:00Z"}, "resources": [
  {"urn": "urn:pulumi:production::coldchain::pulumi:pulumi:Stack::coldchain-production", "custom": false, "type": "pulumi:pulumi:Stack"},
  {"urn": "urn:pulumi:production::coldchain::pulumi:providers:aws::aws", "custom": true, "id": "0f3c", "type": "pulumi:providers:aws",
   "inputs": {"region": "ap-northeast-2", "__internal": {}}, "outputs": {"region": "ap-northeast-2"}},
  {"urn": "urn:pulumi:production::coldchain::coldchain:index:Database$aws:secretsmanager/secret:Secret::redis-auth", "custom": true,
   "id": "arn:aws:secretsmanager:ap-northeast-2:444455556666:secret:redis-auth-5d8e2a1-AbCdEf", "type": "aws:secretsmanager/secret:Secret",
   "inputs": {"__defaults": ["name"], "name": "redis-auth-5d8e2a1", "description": "Redis AUTH token",
              "kmsKeyId": "arn:aws:kms:ap-northeast-2:444455556666:key/1234"},
   "outputs": {"arn": "arn:aws:secretsmanager:ap-northeast-2:444455556666:secret:redis-auth-5d8e2a1-AbCdEf", "name": "redis-auth-5d8e2a1"},
   "parent": "urn:pulumi:production::coldchain::coldchain:index:Database::database", "protect": true,
   "provider": "urn:pulumi:production::coldchain::pulumi:providers:aws::aws::0f3c"},
  {"urn": "urn:pulumi:production::coldchain::coldchain:index:Database$aws:secretsmanager/secretVersion:SecretVersion::redis-auth", "custom": true,
   "id": "x|y", "type": "aws:secretsmanager/secretVersion:SecretVersion",
   "inputs": {"secretId": "arn:aws:secretsmanager:ap-northeast-2:444455556666:secret:redis-auth-5d8e2a1-AbCdEf",
              "secretString": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "AAABAB..."}},
   "outputs": {}, "dependencies": ["urn:pulumi:production::coldchain::coldchain:index:Database$aws:secretsmanager/secret:Secret::redis-auth"]},
  {"urn": "urn:pulumi:production::coldchain::aws:s3/bucketV2:BucketV2::old", "custom": true, "id": "old", "type": "aws:s3/bucketV2:BucketV2",
   "inputs": {"bucket": "old"}, "outputs": {}, "delete": true}
]}}`
	path := filepath.Join(t.TempDir(), "stack.json")
	require.NoError(t, os.WriteFile(path, []byte(export), 0o600))
	p, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, "coldchain", p.Project)
	assert.Equal(t, "production", p.Stack)
	assert.Equal(t, "444455556666", p.Account, "the account the stack is deployed in, from its ARNs")
	require.Len(t, p.Resources, 3, "the stack resource and a resource pending deletion are not the program's")
	secret := p.Resources[1]
	assert.Equal(t, map[string]any{"description": "Redis AUTH token", "kmsKeyId": "arn:aws:kms:ap-northeast-2:444455556666:key/1234"}, secret.Inputs,
		"the autonamed name is the provider's default, not the program's input")
	assert.True(t, secret.Protect)
	assert.Equal(t, plan.SecretPlaceholder, p.Resources[2].Inputs["secretString"])

	_, err = Load(filepath.Join(t.TempDir(), "missing.json"))
	assert.Error(t, err)
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"steps": []}`), 0o600))
	_, err = Load(bad)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "neither a plan"), err.Error())
}
