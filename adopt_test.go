package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"coldchain/internal/adopt"
	"coldchain/internal/offline"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The estate of testdata/adopt/seed.tfstate is the Terraform setup of the seed README as a
// Terraform team would have written it (its own names, AWS-managed keys, /24 subnets, a route
// table shared by the public subnets, inline-listed rules), in account 111122223333.

// seedAccount is the account of the seed estate; the stack must name it (allowedAccountIds).
var seedBase = []string{"alarmEmail=ops@coldchain.example", `allowedAccountIds=["111122223333"]`}

// seedKeeps is the config adopt suggests for the seed estate, as a team sets it.
var seedKeeps = []string{
	"backendImageTag=latest", "frontendImageTag=latest",
	"redisKmsKey=aws-owned", "redisEngine=redis", "redisNodeType=cache.t3.medium",
	"dbAllocatedStorage=100", "dbEngineVersion=15", "dbIdentifier=coldchain-production-db", "dbInstanceClass=db.t3.large",
	"dbKmsKey=arn:aws:kms:ap-northeast-2:111122223333:key/5f0e3a1b-7c2d-4e8f-9a6b-1c2d3e4f5a6b",
	"clusterName=coldchain-production-cluster", "ecrEncryption=AES256",
	"backendRepositoryName=coldchain-backend", "frontendRepositoryName=coldchain-frontend",
	"backupsBucketName=coldchain-prod-backups", "logsBucketName=coldchain-prod-logs", "uploadsBucketName=coldchain-prod-uploads",
	`publicSubnetCidrs=["10.0.1.0/24","10.0.2.0/24"]`, `privateSubnetCidrs=["10.0.11.0/24","10.0.12.0/24"]`,
	`isolatedSubnetCidrs=["10.0.21.0/24","10.0.22.0/24"]`,
}

// adoptRun is one run of "go run . adopt".
type adoptRun struct {
	code           int
	stdout, stderr string
	out            string // the --out path
}

// runAdopt runs adopt on a state file with config overrides, writing into a temporary
// directory.
func runAdopt(t *testing.T, statePath string, sets []string, extra ...string) adoptRun {
	t.Helper()
	out := filepath.Join(t.TempDir(), "import.json")
	args := []string{"adopt", "--tfstate", statePath, "--out", out}
	for _, s := range sets {
		args = append(args, "-c", s)
	}
	args = append(args, extra...)
	var stdout, stderr bytes.Buffer
	code := command(args, &stdout, &stderr)
	return adoptRun{code, stdout.String(), stderr.String(), out}
}

// seedState writes the seed estate, changed by mutate, to a temporary file.
func seedState(t *testing.T, mutate func(state map[string]any)) string {
	t.Helper()
	return estateState(t, "seed.tfstate", mutate)
}

// stateResources are a state's resource blocks, to change in a test.
func stateResources(state map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range state["resources"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// attributesOf are the attributes of a resource's first instance.
func attributesOf(state map[string]any, typ, name string) map[string]any {
	for _, r := range stateResources(state) {
		if r["type"] == typ && r["name"] == name {
			return r["instances"].([]any)[0].(map[string]any)["attributes"].(map[string]any)
		}
	}
	panic("no " + typ + "." + name)
}

func assertNothingWritten(t *testing.T, run adoptRun) {
	t.Helper()
	assert.Equal(t, 1, run.code, "%s\n%s", run.stdout, run.stderr)
	assert.Contains(t, run.stderr, "nothing written")
	assert.NoFileExists(t, run.out)
	assert.NoFileExists(t, strings.TrimSuffix(run.out, ".json")+"-2.json")
}

func TestAdoptingTheSeedEstateAsItIsIsRefusedWithTheConfigThatKeepsIt(t *testing.T) {
	t.Parallel()
	run := runAdopt(t, "testdata/adopt/seed.tfstate", seedBase)
	assertNothingWritten(t, run)

	// Every value of seedKeeps is suggested, as the command a team runs.
	for _, kv := range seedKeeps {
		key, value, _ := strings.Cut(kv, "=")
		assert.Contains(t, run.stdout, "pulumi config set --stack production "+key+" "+shellQuoted(value)+"   # keeps", kv)
	}
	// What cannot be adopted as the stack is: the stores' keys and names, and the services
	// the stack would not deploy yet.
	for _, want := range []string{
		"aws:rds/instance:Instance postgres (aws_db_instance.main) would be replaced: kmsKeyId changes from",
		"aws:elasticache/replicationGroup:ReplicationGroup redis (aws_elasticache_replication_group.main) would be replaced: kmsKeyId",
		"aws:ecr/repository:Repository backend (aws_ecr_repository.backend) would be replaced: name changes from \"coldchain-backend\"",
		"aws:s3/bucketV2:BucketV2 uploads (aws_s3_bucket.uploads) would be replaced: bucket changes from \"coldchain-prod-uploads\"",
		"but the stack deploys backend only once backendImageTag is set",
	} {
		assert.Contains(t, run.stdout, want)
	}
	// The database's identifier, class and engine version differ from the stack's defaults:
	// the report says what "pulumi up" would do with each.
	for _, want := range []string{
		"      identifier: coldchain-production-db -> coldchain-production-postgres  (renames the instance in place: its endpoint changes)\n",
		"      instanceClass: db.t3.large -> db.t4g.medium\n",
		"      engineVersion: 15.4 -> 17\n",
		"      allocatedStorage: 100 -> 50\n",
		"      kmsKeyId: arn:aws:kms:ap-northeast-2:111122223333:key/5f0e3a1b-7c2d-4e8f-9a6b-1c2d3e4f5a6b -> (new Key data)  REPLACES (deleted before its replacement is created)\n",
	} {
		assert.Contains(t, run.stdout, want)
	}
}

func shellQuoted(v string) string {
	if strings.ContainsAny(v, `[]"`) {
		return "'" + v + "'"
	}
	return v
}

func TestAdoptingTheSeedEstateWithTheSuggestedConfigWritesTheImportFiles(t *testing.T) {
	t.Parallel()
	run := runAdopt(t, "testdata/adopt/seed.tfstate", append(slices.Clone(seedBase), seedKeeps...))
	require.Equal(t, 0, run.code, "%s\n%s", run.stdout, run.stderr)
	assert.NotContains(t, run.stdout, "Refused")
	assert.NotContains(t, run.stdout, "Config that keeps what exists", "nothing left to suggest")
	assert.NotContains(t, run.stdout, "(no Terraform attribute)", "every input the program sets is compared with its attribute")
	golden(t, "adopt/seed.report.txt", strings.ReplaceAll(run.stdout, filepath.Dir(run.out)+string(filepath.Separator), ""))

	first, second := readImportFile(t, run.out), readImportFile(t, strings.TrimSuffix(run.out, ".json")+"-2.json")
	golden(t, "adopt/seed.import.json", readText(t, run.out))
	golden(t, "adopt/seed.import-2.json", readText(t, strings.TrimSuffix(run.out, ".json")+"-2.json"))

	p := planOfStack(t, "production", with(mustLoad(t), append(slices.Clone(seedBase), seedKeeps...)...))
	planned := map[string]bool{}
	for _, r := range p.Resources {
		planned[r.URN] = true
	}
	// Every resource of both files gets the URN the program gives it: the import adopts the
	// resources as the program declares them, so "pulumi up" finds them in place.
	imported := map[string]string{}
	for _, f := range []*adopt.ImportFile{first, second} {
		for urn, id := range importedURNs(t, f, "production", "coldchain") {
			assert.Truef(t, planned[urn], "%s is not a URN of the plan", urn)
			imported[urn] = id
		}
	}
	ids := func(typ, name string) string { return imported[p.One(t, typ, name).URN] }
	// Import ids as each type's pulumi-aws documentation gives them.
	assert.Equal(t, "coldchain-production-db", ids(dbType, "postgres"))
	assert.Equal(t, "coldchain-production-redis", ids(redisType, "redis"))
	assert.Equal(t, "coldchain-prod-uploads", ids("aws:s3/bucketV2:BucketV2", "uploads"))
	assert.Equal(t, "coldchain-backend", ids("aws:ecr/repository:Repository", "backend"))
	assert.Equal(t, "coldchain-production-cluster/coldchain-production-backend", ids(serviceType, "backend"))
	assert.Equal(t, "ecs/service/coldchain-production-cluster/coldchain-production-backend/ecs:service:DesiredCount",
		ids(scalableTargetType, "backend"))
	assert.Regexp(t, `^rtb-0[0-9a-f]+_0\.0\.0\.0/0$`, ids(routeType, "vpc-private-1"))
	assert.Regexp(t, `^subnet-0[0-9a-f]+/rtb-0[0-9a-f]+$`, ids("aws:ec2/routeTableAssociation:RouteTableAssociation", "vpc-public-2"))
	assert.Regexp(t, `^sgr-0[0-9a-f]+$`, ids("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "database-from-backend"))
	assert.Equal(t, "/ecs/coldchain-production/backend", ids(logGroupType, "backend"))

	// The first file imports under the stack's explicit provider, which must exist first; the
	// components above the resources are created by the import, the awsx VPC as remote.
	assert.Equal(t, map[string]string{"provider aws": "urn:pulumi:production::coldchain::pulumi:providers:aws::aws"}, first.NameTable)
	for _, spec := range first.Resources {
		switch {
		case spec.Type == "awsx:ec2:Vpc":
			assert.True(t, spec.Component && spec.Remote)
		case strings.HasPrefix(spec.Type, "coldchain:index:"):
			assert.True(t, spec.Component && !spec.Remote)
		default:
			assert.Equal(t, "provider aws", spec.Provider, spec.Name)
		}
	}
	// The route table associations of subnets that shared Terraform's route table come in the
	// second file, once the targeted up has created their new route tables.
	var later []string
	for _, spec := range second.Resources {
		later = append(later, spec.Name)
	}
	assert.Equal(t, []string{
		"aws:ec2/routeTableAssociation:RouteTableAssociation network/vpc/vpc/vpc-isolated-2/vpc-isolated-2/vpc-isolated-2",
		"aws:ec2/routeTableAssociation:RouteTableAssociation network/vpc/vpc/vpc-public-2/vpc-public-2/vpc-public-2",
	}, later)
	assert.Contains(t, run.stdout, "--target 'urn:pulumi:production::coldchain::coldchain:index:Network$awsx:ec2:Vpc$aws:ec2/vpc:Vpc$aws:ec2/subnet:Subnet$aws:ec2/routeTable:RouteTable::vpc-public-2'")

	// What Terraform lets go of is exactly what is adopted; the rest stays Terraform's.
	assert.Contains(t, run.stdout, "       'aws_db_instance.main' \\\n")
	assert.Contains(t, run.stdout, "       'aws_route_table.public' \\\n")
	left := run.stdout[strings.Index(run.stdout, "Left to Terraform"):strings.Index(run.stdout, "Wrote ")]
	for _, theirs := range []string{"aws_cloudwatch_metric_alarm.rds_cpu_high", "aws_vpc_security_group_egress_rule.alb_all_out",
		"aws_iam_role_policy_attachment.ecs_task_execution"} {
		assert.Contains(t, left, theirs)
		assert.NotContains(t, run.stdout, "'"+theirs+"'", "not removed from Terraform's state")
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

// readImportFile reads an import file adopt wrote.
func readImportFile(t *testing.T, path string) *adopt.ImportFile {
	var f adopt.ImportFile
	require.NoError(t, json.Unmarshal([]byte(readText(t, path)), &f), path)
	return &f
}

// importedURNs derives the URN "pulumi import" gives each resource of an import file, as the
// CLI does (its parseImportFile): the parent's type chain, the type and the logical name;
// parents are resources of the file or URNs of the name table.
func importedURNs(t *testing.T, f *adopt.ImportFile, stack, project string) map[string]string {
	byName := map[string]adopt.ImportSpec{}
	for _, s := range f.Resources {
		byName[s.Name] = s
	}
	out := map[string]string{}
	for _, s := range f.Resources {
		types := []string{s.Type}
		for parent := s.Parent; parent != ""; {
			if p, ok := byName[parent]; ok {
				types = append([]string{p.Type}, types...)
				parent = p.Parent
				continue
			}
			urn, ok := f.NameTable[parent]
			require.Truef(t, ok, "parent %q of %s is neither in the file nor in the name table", parent, s.Name)
			qualified := strings.Split(urn, "::")[2]
			types = append([]string{qualified}, types...)
			break
		}
		if s.ID != "" {
			out["urn:pulumi:"+stack+"::"+project+"::"+strings.Join(types, "$")+"::"+s.LogicalName] = s.ID
		}
	}
	return out
}

func mustLoad(t *testing.T) map[string]string {
	raw, err := offline.LoadStackConfig(".", project, "production")
	require.NoError(t, err)
	return raw
}

func TestAdoptRefusesAStateThatIsNotThisStacks(t *testing.T) {
	t.Parallel()
	otherRegion := seedState(t, func(state map[string]any) {
		data, _ := json.Marshal(state)
		var moved map[string]any
		_ = json.Unmarshal([]byte(strings.ReplaceAll(string(data), ":ap-northeast-2:", ":eu-west-1:")), &moved)
		state["resources"] = moved["resources"]
	})
	empty := seedState(t, func(state map[string]any) { state["resources"] = []any{} })
	oldFormat := seedState(t, func(state map[string]any) { state["version"] = 3 })
	notJSON := filepath.Join(t.TempDir(), "state")
	require.NoError(t, os.WriteFile(notJSON, []byte("terraform {}"), 0o644))

	for name, tc := range map[string]struct {
		state string
		sets  []string
		want  string
	}{
		"missing file":        {"testdata/adopt/no-such.tfstate", seedBase, "--tfstate: open testdata/adopt/no-such.tfstate"},
		"not JSON":            {notJSON, seedBase, "not a Terraform state file: not JSON"},
		"format version 3":    {oldFormat, seedBase, "state format version 3: only version 4"},
		"no resources":        {empty, seedBase, "records no managed resource"},
		"another region":      {otherRegion, seedBase, "resources are in eu-west-1 (resources by region: eu-west-1: 67), the stack deploys into ap-northeast-2"},
		"another account":     {"testdata/adopt/seed.tfstate", []string{"alarmEmail=ops@coldchain.example", `allowedAccountIds=["444455556666"]`}, "in account 111122223333 (resources by account: 111122223333: 70), the stack deploys into 444455556666"},
		"account not checked": {"testdata/adopt/seed.tfstate", []string{"alarmEmail=ops@coldchain.example"}, `pulumi config set --stack production allowedAccountIds '["111122223333"]', or for this run -c 'allowedAccountIds=["111122223333"]'`},
		"bad config":          {"testdata/adopt/seed.tfstate", append(slices.Clone(seedBase), "dbIdentifier=Prod_DB"), "dbIdentifier"},
	} {
		t.Run(name, func(t *testing.T) {
			run := runAdopt(t, tc.state, tc.sets)
			assertNothingWritten(t, run)
			assert.Contains(t, run.stderr, tc.want)
		})
	}
}

// extraResource adds a resource block of one instance to a state.
func extraResource(state map[string]any, provider, typ, name string, attrs map[string]any) {
	state["resources"] = append(state["resources"].([]any), map[string]any{"mode": "managed", "type": typ, "name": name,
		"provider": provider, "instances": []any{map[string]any{"attributes": attrs}}})
}

const awsProvider = `provider["registry.terraform.io/hashicorp/aws"]`

func TestAdoptRefusesToLeaveBehindWhatRetiringTerraformWouldDestroy(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		mutate func(map[string]any)
		want   string
	}{
		"a bucket the stack does not declare": {func(state map[string]any) {
			extraResource(state, awsProvider, "aws_s3_bucket", "archive", map[string]any{"id": "coldchain-prod-archive",
				"bucket": "coldchain-prod-archive", "arn": "arn:aws:s3:::coldchain-prod-archive"})
		}, "aws_s3_bucket.archive (aws_s3_bucket) matches nothing the stack declares: it may hold data or run something"},
		"a type adopt does not know": {func(state map[string]any) {
			extraResource(state, awsProvider, "aws_dynamodb_table", "sessions", map[string]any{"id": "sessions",
				"arn": "arn:aws:dynamodb:ap-northeast-2:111122223333:table/sessions"})
		}, "aws_dynamodb_table.sessions (aws_dynamodb_table) matches nothing the stack declares"},
		"a replica in another region": {func(state map[string]any) {
			extraResource(state, awsProvider+".us_east_1", "aws_s3_bucket", "replica", map[string]any{"id": "coldchain-prod-replica",
				"bucket": "coldchain-prod-replica", "arn": "arn:aws:s3:::coldchain-prod-replica"})
		}, "it belongs to another provider configuration (another region or account)"},
		"a deposed object": {func(state map[string]any) {
			for _, r := range stateResources(state) {
				if r["type"] == "aws_s3_bucket" && r["name"] == "backups" {
					old := map[string]any{"deposed": "00000001", "attributes": map[string]any{"id": "coldchain-prod-backups-old",
						"bucket": "coldchain-prod-backups-old", "arn": "arn:aws:s3:::coldchain-prod-backups-old"}}
					r["instances"] = append(r["instances"].([]any), old)
				}
			}
		}, "aws_s3_bucket.backups (deposed object 00000001) (aws_s3_bucket) matches nothing"},
		"subnets the data lives in": {func(state map[string]any) {
			for _, id := range []string{"10.0.21.0/24", "10.0.22.0/24"} {
				for _, r := range stateResources(state) {
					for _, inst := range r["instances"].([]any) {
						a := inst.(map[string]any)["attributes"].(map[string]any)
						if a["cidr_block"] == id {
							a["cidr_block"] = strings.Replace(id, ".2", ".3", 1) // not the stack's isolated subnets any more
						}
					}
				}
			}
		}, "aws_subnet.database[0] (10.0.31.0/24) would be left to Terraform, but aws_elasticache_subnet_group.main, which the stack adopts"},
	} {
		t.Run(name, func(t *testing.T) {
			run := runAdopt(t, seedState(t, tc.mutate), append(slices.Clone(seedBase), seedKeeps...))
			assertNothingWritten(t, run)
			assert.Contains(t, run.stdout, tc.want)
		})
	}
}

func TestAdoptReadsAStateOfTerraform012(t *testing.T) {
	t.Parallel()
	// Terraform 0.12 wrote version 4 states with "provider.aws" for the provider.
	path := seedState(t, func(state map[string]any) {
		for _, r := range stateResources(state) {
			r["provider"] = "provider.aws"
		}
	})
	run := runAdopt(t, path, append(slices.Clone(seedBase), seedKeeps...))
	assert.Equal(t, 0, run.code, "%s\n%s", run.stdout, run.stderr)
	assert.Contains(t, run.stdout, "Adopted: 93 resources")
}

func TestAdoptReportsWhatItCannotKeep(t *testing.T) {
	t.Parallel()
	sets := append(slices.Clone(seedBase), seedKeeps...)
	// A cache encrypted with a key of Terraform's: with ElastiCache's own key (redisKmsKey
	// aws-owned) the program sets none, which replaces it.
	path := seedState(t, func(state map[string]any) {
		attributesOf(state, "aws_elasticache_replication_group", "main")["kms_key_id"] = "arn:aws:kms:ap-northeast-2:111122223333:key/0d6f2e4a-8b1c-4d3e-a5f6-7b8c9d0e1f2a"
	})
	run := runAdopt(t, path, sets)
	assertNothingWritten(t, run)
	assert.Contains(t, run.stdout, "redis (aws_elasticache_replication_group.main) would be replaced: kmsKeyId changes from \"arn:aws:kms:")

	// Parameters swapped between two names are two changed parameters, not the same set of
	// names and values.
	path = seedState(t, func(state map[string]any) {
		attributesOf(state, "aws_db_parameter_group", "main")["parameter"] = []any{
			map[string]any{"name": "log_min_duration_statement", "value": "1"}, map[string]any{"name": "rds.force_ssl", "value": "1000"}}
	})
	run = runAdopt(t, path, sets)
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, run.stdout, "      parameters: 2 items -> 2 items, Terraform lacks {name=log_min_duration_statement value=1000}; {name=rds.force_ssl value=1}, "+
		"the program drops {name=log_min_duration_statement value=1}; {name=rds.force_ssl value=1000}\n")
	assert.Contains(t, run.stdout, `pulumi config set --stack production dbParameters '{"log_min_duration_statement":"1"}'   # keeps parameters of aws_db_parameter_group.main`)

	// Redis OSS becomes Valkey in place (adopt suggests keeping the engine; a team may
	// upgrade), but not the other way round.
	run = runAdopt(t, "testdata/adopt/seed.tfstate", append(slices.Clone(sets), "redisEngine=valkey", "redisEngineVersion=8.0"))
	require.Equal(t, 0, run.code, run.stderr)
	assert.Contains(t, run.stdout, "      engine: redis -> valkey\n")
	assert.Contains(t, run.stdout, "pulumi config set --stack production redisEngine redis   # keeps")
	path = seedState(t, func(state map[string]any) {
		a := attributesOf(state, "aws_elasticache_replication_group", "main")
		a["engine"], a["engine_version"] = "valkey", "8.0"
	})
	run = runAdopt(t, path, append(slices.Clone(sets), "redisEngine=redis"))
	assertNothingWritten(t, run)
	assert.Contains(t, run.stdout, "redis (aws_elasticache_replication_group.main) would be replaced: engine changes from \"valkey\" to \"redis\"")

	// Terraform keeps the cache's AUTH token in its state; the program's is another.
	run = runAdopt(t, "testdata/adopt/seed.tfstate", sets)
	assert.Contains(t, run.stdout, "      authToken: (Terraform's secret) -> (the program's secret)  (the program's generated token replaces Terraform's")
}

func TestAdoptWritesBothFilesOrNone(t *testing.T) {
	t.Parallel()
	sets := append(slices.Clone(seedBase), seedKeeps...)
	run := runAdopt(t, "testdata/adopt/seed.tfstate", sets, "--out", filepath.Join(t.TempDir(), "no-such-dir", "import.json"))
	assert.Equal(t, 1, run.code)
	assert.Contains(t, run.stderr, "nothing written")

	// A second file left by an earlier run goes when the new run needs none.
	dir := t.TempDir()
	out := filepath.Join(dir, "import.json")
	stale := filepath.Join(dir, "import-2.json")
	require.NoError(t, os.WriteFile(stale, []byte("{}"), 0o644))
	oneFile := seedState(t, func(state map[string]any) {
		// Each public and isolated subnet with its own route table: no shared table, no second file.
		for _, r := range stateResources(state) {
			if r["type"] == "aws_route_table_association" && (r["name"] == "public" || r["name"] == "database") {
				r["instances"] = r["instances"].([]any)[:1]
			}
		}
	})
	run = runAdopt(t, oneFile, sets, "--out", out)
	require.Equal(t, 0, run.code, run.stdout+run.stderr)
	assert.FileExists(t, out)
	assert.NoFileExists(t, stale)
}

// inlineRules rewrites the seed estate as a team that wrote its rules inline would have it:
// the same rules, listed in the groups' ingress and egress only.
func inlineRules(t *testing.T) (statePath, rulesPath string) {
	type rule struct {
		SecurityGroupRuleID string `json:"SecurityGroupRuleId"`
		GroupID             string `json:"GroupId"`
		IsEgress            bool
		IPProtocol          string `json:"IpProtocol"`
		FromPort, ToPort    int
		CidrIpv4            string            `json:",omitempty"`
		ReferencedGroupInfo map[string]string `json:",omitempty"`
	}
	var rules []rule
	statePath = seedState(t, func(state map[string]any) {
		var kept []any
		for _, r := range stateResources(state) {
			typ := r["type"].(string)
			if !strings.HasPrefix(typ, "aws_vpc_security_group_") {
				kept = append(kept, r)
				continue
			}
			a := r["instances"].([]any)[0].(map[string]any)["attributes"].(map[string]any)
			ru := rule{SecurityGroupRuleID: a["id"].(string), GroupID: a["security_group_id"].(string),
				IsEgress: strings.Contains(typ, "egress"), IPProtocol: a["ip_protocol"].(string), FromPort: -1, ToPort: -1}
			if p, ok := a["from_port"].(float64); ok {
				ru.FromPort, ru.ToPort = int(p), int(p)
			}
			if c, ok := a["cidr_ipv4"].(string); ok {
				ru.CidrIpv4 = c
			}
			if g, ok := a["referenced_security_group_id"].(string); ok {
				ru.ReferencedGroupInfo = map[string]string{"GroupId": g}
			}
			rules = append(rules, ru)
		}
		state["resources"] = kept
	})
	// A rule of a group of something else in the account, which AWS lists as well.
	rules = append(rules, rule{SecurityGroupRuleID: "sgr-0otherapp", GroupID: "sg-0otherapp", IPProtocol: "tcp",
		FromPort: 22, ToPort: 22, CidrIpv4: "203.0.113.0/24"})
	data, err := json.Marshal(map[string]any{"SecurityGroupRules": rules})
	require.NoError(t, err)
	rulesPath = filepath.Join(t.TempDir(), "rules.json")
	require.NoError(t, os.WriteFile(rulesPath, data, 0o644))
	return statePath, rulesPath
}

func TestAdoptTakesTheIdsOfInlineRulesFromAWS(t *testing.T) {
	t.Parallel()
	statePath, rulesPath := inlineRules(t)
	sets := append(slices.Clone(seedBase), seedKeeps...)

	// Terraform keeps no id of an inline rule, and the program's rule would be a duplicate of
	// it: without AWS's list, the migration stops.
	run := runAdopt(t, statePath, sets)
	assertNothingWritten(t, run)
	assert.Contains(t, run.stdout, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule database-from-backend is aws_security_group.rds (ingress rule 1), "+
		"whose id (sgr-...) Terraform does not keep: pass AWS's list of the rules with --security-group-rules")

	// The report prints the command that writes AWS's list, and the rerun line passes it.
	assert.Regexp(t, `aws ec2 describe-security-group-rules --filters Name=group-id,Values=sg-[0-9a-f]+(,sg-[0-9a-f]+)+ --output json > security-group-rules.json\n`, run.stdout)
	rerun := rerunLine(t, run.stdout)
	i := slices.Index(rerun, "--security-group-rules")
	require.Positive(t, i, "the rerun line passes the rules file")
	require.Equal(t, "security-group-rules.json", rerun[i+1])
	rerun[i+1] = rulesPath // where this test wrote AWS's answer
	require.Equal(t, 0, runCommand(t, rerun, run.out).code)

	run = runAdopt(t, statePath, sets, "--security-group-rules", rulesPath)
	require.Equal(t, 0, run.code, "%s\n%s", run.stdout, run.stderr)
	assert.Regexp(t, `database-from-backend  <- aws_security_group.rds \(ingress rule 1\)  \(import id sgr-0[0-9a-f]+;`, run.stdout)
	// The inline rules the program does not declare stay on the adopted groups: the report
	// says to remove them, and Terraform cannot (they are part of its groups).
	unmanaged := run.stdout[strings.Index(run.stdout, "Unmanaged afterwards"):strings.Index(run.stdout, "Wrote ")]
	assert.Contains(t, unmanaged, "aws_security_group.alb (egress rule 1)  security group rule of sg-")
	assert.Contains(t, unmanaged, ": -1 all ports, 0.0.0.0/0")
	assert.NotContains(t, run.stdout, "'aws_security_group.rds (ingress rule 1)'", "an inline rule goes with its group")
	assert.NotContains(t, run.stdout, "sg-0otherapp", "another application's group is none of the stack's business")
}

func TestAdoptUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, command([]string{"adopt"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "--tfstate FILE is required")
	assert.Equal(t, 0, command([]string{"adopt", "--help"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "usage: go run . adopt --tfstate FILE")
}

func TestAdoptKnowsEveryAWSTypeTheProgramCreates(t *testing.T) {
	t.Parallel()
	for _, p := range []*offline.Plan{
		planOfFile(t, "production"), planOfFile(t, "production", "domainName=dispatch.example.com"), planOfFile(t, "staging"),
	} {
		for _, r := range p.Resources {
			if !r.Custom || !strings.HasPrefix(r.Type, "aws:") {
				continue // components, the providers, and random's values, which AWS does not hold
			}
			assert.Truef(t, adopt.Adoptable(r.Type) || r.Type == "aws:acm/certificateValidation:CertificateValidation",
				"%s (%s) has no adoption rule: a Terraform estate's one would be left behind and the stack's created beside it", r.Type, r.Name)
		}
	}
}

// TestAdoptingAnEstateInZonesAAndCSuggestsThem: the seed estate built in ap-northeast-2a and
// 2c (common in Seoul) is adopted once the suggested availabilityZones is set, the subnets and
// the data staying where they are.
func TestAdoptingAnEstateInZonesAAndCSuggestsThem(t *testing.T) {
	t.Parallel()
	path := seedState(t, func(state map[string]any) { replaceInState(t, state, "ap-northeast-2b", "ap-northeast-2c") })
	sets := append(slices.Clone(seedBase), seedKeeps...)
	run := runAdopt(t, path, sets)
	assertNothingWritten(t, run)
	zones := `availabilityZones=["ap-northeast-2a","ap-northeast-2c"]`
	assert.Contains(t, run.stdout, `pulumi config set --stack production availabilityZones '["ap-northeast-2a","ap-northeast-2c"]'   # keeps`)

	run = runAdopt(t, path, append(sets, zones))
	require.Equal(t, 0, run.code, "%s\n%s", run.stdout, run.stderr)
	assert.NotContains(t, run.stdout, "Config that keeps what exists", "nothing left to suggest")
	p := planOfStack(t, "production", with(mustLoad(t), append(sets, zones)...))
	assert.Equal(t, "ap-northeast-2c", p.One(t, "aws:ec2/subnet:Subnet", "vpc-isolated-2").In("availabilityZone"))
	assert.Equal(t, []any{"ap-northeast-2a", "ap-northeast-2c"}, p.One(t, redisType, "redis").List("preferredCacheClusterAzs"))
}
