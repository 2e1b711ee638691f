package main

import (
	"bytes"
	"coldchain/internal/offline"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProductionStackFilePlansCleanly(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	assert.Equal(t, "production", p.Stack)
	assert.NotEmpty(t, p.Resources)
	assert.Equal(t, "ap-northeast-2", p.One(t, "pulumi:providers:aws", "aws").In("region"))
	assert.Equal(t, "10.0.0.0/16", p.One(t, "awsx:ec2:Vpc", "vpc").In("cidrBlock"))
}

func TestEveryResourceIsParentedToItsComponent(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	for _, r := range p.Resources {
		if strings.HasPrefix(r.Type, "pulumi:providers:") {
			continue
		}
		parent := p.ByURN(r.Parent)
		if !r.Custom && strings.HasPrefix(r.Type, "coldchain:index:") {
			assert.Nilf(t, parent, "area %s is nested under %s; areas sit at the top", r.Name, r.Parent)
			continue
		}
		require.NotNilf(t, parent, "%s %s has no component parent (parent %q)", r.Type, r.Name, r.Parent)
		if r.ModeledBy != "" {
			// The children of a remote component sit where its code puts them (awsx parents a
			// subnet to the VPC, a route to its route table), under the component.
			for parent.ModeledBy != "" {
				parent = p.ByURN(parent.Parent)
			}
			assert.Equalf(t, r.ModeledBy, parent.Type, "%s %s is modeled outside its component", r.Type, r.Name)
			continue
		}
		assert.Falsef(t, parent.Custom, "%s %s is parented to a custom resource", r.Type, r.Name)
	}
}

func TestEveryAWSResourceUsesTheExplicitProvider(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	tags := map[string]any{"tags": map[string]any{
		"Project": "coldchain", "Environment": "production", "ManagedBy": "pulumi",
	}}
	home, dr := p.One(t, "pulumi:providers:aws", "aws"), p.One(t, "pulumi:providers:aws", "aws-dr")
	assert.Equal(t, tags, home.Obj("defaultTags"))
	assert.Equal(t, tags, dr.Obj("defaultTags"), "the DR region's resources carry the same tags")
	assert.Equal(t, "ap-northeast-2", home.In("region"))
	assert.Equal(t, "ap-northeast-1", dr.In("region"))
	assert.Equal(t, home.Inputs["allowedAccountIds"], dr.Inputs["allowedAccountIds"], "both providers guard the account")

	// Only the copies live in the DR region; everything else is in the stack's region.
	var inDR []string
	for _, r := range p.Resources {
		if !strings.HasPrefix(r.Type, "aws:") && !strings.HasPrefix(r.Type, "awsx:") {
			continue
		}
		switch r.Provider {
		case dr.URN + "::" + dr.ID:
			inDR = append(inDR, r.Type+" "+r.Name)
		default:
			assert.Equalf(t, home.URN+"::"+home.ID, r.Provider, "%s %s does not use an explicit provider", r.Type, r.Name)
		}
	}
	slices.Sort(inDR)
	var want []string
	for _, purpose := range []string{"backups", "uploads", "logs"} {
		for _, typ := range []string{bucketType, "aws:s3/bucketVersioningV2:BucketVersioningV2", "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
			"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
			"aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"} {
			want = append(want, typ+" "+purpose+"-dr")
		}
		if purpose != "logs" { // the replicas' access logs go to logs-dr
			want = append(want, "aws:s3/bucketLoggingV2:BucketLoggingV2 "+purpose+"-dr")
		}
	}
	for _, service := range []string{"backend", "frontend"} {
		want = append(want, repoType+" "+service+"-dr", "aws:ecr/lifecyclePolicy:LifecyclePolicy "+service+"-dr")
	}
	want = append(want, kmsKeyType+" dr-data", "aws:kms/alias:Alias dr-data",
		"aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication postgres-backups")
	slices.Sort(want)
	assert.Equal(t, want, inDR)
}

func TestTagsConfigReachesTheProviderWithoutOverridingOurs(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), `tags={"CostCenter":"logistics","Team":"dispatch"}`))
	tags := p.One(t, "pulumi:providers:aws", "aws").Obj("defaultTags")["tags"]
	assert.Equal(t, map[string]any{
		"CostCenter": "logistics", "Team": "dispatch",
		"Project": "coldchain", "Environment": "production", "ManagedBy": "pulumi",
	}, tags)
}

func runPlanCommand(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := command(append([]string{"plan"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestPlanJSONKeepsItsShape(t *testing.T) {
	t.Parallel()
	code, out, errOut := runPlanCommand(t, "--json")
	require.Equalf(t, 0, code, "stderr: %s", errOut)

	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &top))
	for _, key := range []string{"project", "stack", "resources", "outputs"} {
		assert.Containsf(t, top, key, "the plan has no %q", key)
	}
	var plan struct {
		Project   string
		Stack     string
		Resources []map[string]json.RawMessage
		Outputs   map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	assert.Equal(t, "coldchain", plan.Project)
	assert.Equal(t, "production", plan.Stack)
	require.NotEmpty(t, plan.Resources)
	fields := map[string]string{
		"urn": "string", "type": "string", "name": "string", "custom": "bool", "remote": "bool",
		"parent": "string", "provider": "string", "protect": "bool", "retainOnDelete": "bool",
		"deleteBeforeReplace": "bool", "ignoreChanges": "array", "dependsOn": "array",
		"inputs": "object", "outputs": "object",
	}
	for _, r := range plan.Resources {
		for field, kind := range fields {
			raw, ok := r[field]
			require.Truef(t, ok, "resource %s has no %q", r["urn"], field)
			assert.Equalf(t, kind, jsonKind(raw), "resource %s: %q", r["urn"], field)
		}
	}
	assert.Contains(t, plan.Outputs, "vpcId")
}

func jsonKind(raw json.RawMessage) string {
	switch s := strings.TrimSpace(string(raw)); {
	case strings.HasPrefix(s, "\""):
		return "string"
	case s == "true" || s == "false":
		return "bool"
	case strings.HasPrefix(s, "["):
		return "array"
	case strings.HasPrefix(s, "{"):
		return "object"
	}
	return "other"
}

func TestDependsOnShowsTheCreationOrder(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	flow := p.One(t, "aws:ec2/flowLog:FlowLog", "flow-logs")
	for _, dep := range []*offline.PlanResource{
		p.One(t, "aws:cloudwatch/logGroup:LogGroup", "flow-logs"),
		p.One(t, "aws:iam/role:Role", "flow-logs"),
		p.One(t, "awsx:ec2:Vpc", "vpc"),
	} {
		assert.Contains(t, flow.DependsOn, dep.URN)
	}
	// Every URN a resource depends on is itself in the plan (or the stack).
	for _, r := range p.Resources {
		for _, dep := range r.DependsOn {
			assert.NotNilf(t, p.ByURN(dep), "%s depends on %s, which is not planned", r.Name, dep)
		}
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	t.Parallel()
	_, first, _ := runPlanCommand(t, "--json")
	_, second, _ := runPlanCommand(t, "--json")
	assert.Equal(t, first, second)
	_, tree1, _ := runPlanCommand(t)
	_, tree2, _ := runPlanCommand(t)
	assert.Equal(t, tree1, tree2)
}

func TestPlanTreeShowsResourcesUnderTheirComponentsAndTheOutputs(t *testing.T) {
	t.Parallel()
	code, out, errOut := runPlanCommand(t)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	assert.Contains(t, out, "+ coldchain:index:Network  network\n")
	assert.Contains(t, out, "\n    + awsx:ec2:Vpc  vpc  [remote component]\n")
	assert.Contains(t, out, "Outputs:\n")
	assert.Contains(t, out, "    vpcId: \"vpc-")
}

func TestPlanCommandRejectsBadConfigWithoutPrintingAPlan(t *testing.T) {
	t.Parallel()
	code, out, errOut := runPlanCommand(t, "-c", "backendCpu=lots", "-c", "vpcCidr=10.0.0.0/8")
	assert.Equal(t, 1, code)
	assert.Empty(t, out, "no plan is printed")
	assert.Contains(t, errOut, `backendCpu = "lots": must be a whole number`)
	assert.Contains(t, errOut, `vpcCidr = "10.0.0.0/8"`)
	assert.NotContains(t, errOut, "goroutine", "no stack trace")
}

func TestPlanCommandOverridesAndStackSelection(t *testing.T) {
	t.Parallel()
	code, out, errOut := runPlanCommand(t, "--json", "--stack", "production", "-c", "vpcCidr=10.20.0.0/16", "-c", "aws:region=eu-west-1")
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	var p offline.Plan
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	assert.Equal(t, "10.20.0.0/16", p.One(t, "awsx:ec2:Vpc", "vpc").In("cidrBlock"))
	assert.Equal(t, []any{"eu-west-1a", "eu-west-1b"}, p.One(t, "awsx:ec2:Vpc", "vpc").List("availabilityZoneNames"))

	code, _, errOut = runPlanCommand(t, "--stack", "nosuchstack")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `stack "nosuchstack"`)

	code, _, _ = runPlanCommand(t, "-c", "novalue")
	assert.Equal(t, 2, code, "a malformed flag is a usage error")
}

func TestTheConfigReaderKnowsTheEnginesPlaceholder(t *testing.T) {
	t.Parallel()
	// The offline engine reads an encrypted value as its placeholder; config must recognize it.
	assert.Equal(t, offline.SecretPlaceholder, encryptedPlaceholder)
}

func TestAutonamedResourcesGetTheNameAutonamingWouldProduce(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	var checked []string
	for _, r := range p.Resources {
		prop, ok := offline.AutonamedProperty(r.Type)
		if !ok || r.Inputs[prop] != nil {
			continue
		}
		name, _ := r.Outputs[prop].(string)
		assert.Regexpf(t, "^"+r.Name+"-[0-9a-f]{7}$", name, "%s %s", r.Type, r.Name)
		checked = append(checked, r.Name)
	}
	sort.Strings(checked)
	assert.NotEmpty(t, checked)
}

// TestDeployReadsTheConfigTheCLIPasses runs deploy, the function "pulumi up" runs, with the
// config in PULUMI_CONFIG as the Pulumi CLI passes it.
// deployableConfig is a config "pulumi up" accepts: no placeholder, and HTTPS.
func deployableConfig() map[string]string {
	return with(minimalConfig(), "alarmEmail=ops@coldchain-dispatch.com", "domainName=dispatch.coldchain-dispatch.com")
}

func TestDeployReadsTheConfigTheCLIPasses(t *testing.T) {
	raw, err := json.Marshal(with(deployableConfig(), "aws:region=eu-central-1"))
	require.NoError(t, err)
	t.Setenv(pulumi.EnvConfig, string(raw))

	p, err := offline.Run(project, "production", nil, deploy)
	require.NoError(t, err)
	assert.Equal(t, "eu-central-1", p.One(t, "pulumi:providers:aws", "aws").In("region"))
}

func TestDeployRefusesPlaceholdersAndPlainHTTPWhereThePlanOnlyWarns(t *testing.T) {
	for name, tc := range map[string]struct {
		sets []string
		key  string
	}{
		"the shipped alarm address":       {[]string{"alarmEmail=alerts@example.com"}, "alarmEmail"},
		"an example domain":               {[]string{"domainName=dispatch.example.org"}, "domainName"},
		"a test zone":                     {[]string{"domainName=app.coldchain.test", "hostedZoneName=coldchain.test"}, "hostedZoneName"},
		"a protected stack on plain HTTP": {[]string{"domainName="}, "domainName"},
	} {
		raw := with(deployableConfig(), tc.sets...)
		if tc.sets[0] == "domainName=" {
			delete(raw, "coldchain:domainName")
		}
		b, err := json.Marshal(raw)
		require.NoError(t, err)
		t.Setenv(pulumi.EnvConfig, string(b))
		registered, err := offline.Run(project, "production", nil, deploy)
		var cfgErr *ConfigError
		if assert.Truef(t, errors.As(err, &cfgErr), "%s: got %v", name, err) {
			assert.Containsf(t, err.Error(), tc.key+" = ", "%s", name)
		}
		assert.Emptyf(t, registered.Resources, "%s: nothing is registered", name)

		// The offline plan, README's first command, lists the same as a warning.
		p, err := planStack(project, "production", raw)
		require.NoErrorf(t, err, "%s", name)
		assert.Containsf(t, strings.Join(p.Warnings, "\n"), "pulumi up would stop here: "+tc.key+" = ", "%s", name)
	}

	// Serving plain HTTP is a choice a protected stack can make, explicitly; an unprotected one
	// (staging) only gets the warning.
	for _, sets := range [][]string{{"allowPlainHttp=true"}, {"protect=false"}} {
		raw := with(deployableConfig(), sets...)
		delete(raw, "coldchain:domainName")
		cfg, err := loadConfig(project, "production", raw)
		require.NoError(t, err)
		assert.Emptyf(t, cfg.deployBlockers(), "%v", sets)
		assert.Lenf(t, cfg.warnings(), 1, "%v: the plain-HTTP warning", sets)
	}
}

func TestDeployRegistersNothingOnBadConfig(t *testing.T) {
	raw, err := json.Marshal(with(minimalConfig(), "backendCpu=lots"))
	require.NoError(t, err)
	t.Setenv(pulumi.EnvConfig, string(raw))

	registered, err := offline.Run(project, "production", nil, deploy)
	var cfgErr *ConfigError
	require.True(t, errors.As(err, &cfgErr), "got %v", err)
	assert.Empty(t, registered.Resources, "nothing is registered before config is valid")
}

// TestReadmeListsEveryStackOutput keeps README's output table true.
func TestReadmeListsEveryStackOutput(t *testing.T) {
	t.Parallel()
	section := readmeSection(t, "## Stack outputs")
	for name := range planOfFile(t, "production", "domainName=example.com").Outputs {
		assert.Containsf(t, section, "`"+name+"`", "README's stack outputs do not list %s", name)
	}
}

func TestAllowedAccountsBindTheProvider(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "allowedAccountIds=123456789012"))
	assert.Equal(t, []any{"123456789012"}, p.One(t, "pulumi:providers:aws", "aws").List("allowedAccountIds"))
	assert.NotContains(t, planOf(t, minimalConfig()).One(t, "pulumi:providers:aws", "aws").Inputs, "allowedAccountIds")
}

func TestEveryLogGroupIsAStackOutput(t *testing.T) {
	t.Parallel()
	// The runbook reads log group names from the stack, never types them.
	p := planOf(t, minimalConfig())
	var names []any
	for _, g := range p.All(logGroupType) {
		names = append(names, g.In("name"))
	}
	logGroups, ok := p.Outputs["logGroups"].(map[string]any)
	require.True(t, ok)
	var exported []any
	for _, v := range logGroups {
		exported = append(exported, v)
	}
	assert.ElementsMatch(t, names, exported)
	assert.Equal(t, "/ecs/coldchain-production/backend", logGroups["backend"])
}

// TestTheRunbookReadsOnlyWhatTheStacksExport: every "pulumi stack output NAME" of README is an
// output production exports (released, with a domain and a DR region), and every "pulumi config
// get KEY" a key the program reads, so that the runbooks work as written during an outage.
func TestTheRunbookReadsOnlyWhatTheStacksExport(t *testing.T) {
	t.Parallel()
	// docs/account.md reads the account stack's outputs: the account's tests check those.
	readme := allDocs(t, filepath.Join("docs", "account.md"))
	outputs := planOfFile(t, "production", "domainName=example.com", "backendImageTag=v1", "frontendImageTag=v1").Outputs
	keys := append(configKeys(project), "aws:region")
	used := 0
	for _, m := range regexp.MustCompile("pulumi stack output (?:--stack [a-z-]+ )?\"?([a-zA-Z$]+)").FindAllStringSubmatch(string(readme), -1) {
		name := m[1]
		if name == "NAME" || strings.HasPrefix(name, "$") {
			continue // the placeholder of the outputs table, or a name built in a loop
		}
		used++
		assert.Containsf(t, outputs, name, "README reads the stack output %s, which production does not export", name)
	}
	for _, m := range regexp.MustCompile(`pulumi config get ([a-zA-Z:]+)`).FindAllStringSubmatch(string(readme), -1) {
		used++
		assert.Containsf(t, keys, m[1], "README reads the config key %s, which the program does not read", m[1])
	}
	assert.Greater(t, used, 30, "the runbook's reads were found")

	// The scripts read the outputs through a helper: output NAME, or output "${service}Name"
	// for each service.
	scripts, err := filepath.Glob("scripts/*.sh")
	require.NoError(t, err)
	read := 0
	for _, path := range scripts {
		text, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`(?m)(?:^|[^-\w])output "?(\$\{service\})?([a-zA-Z]+)`).FindAllStringSubmatch(string(text), -1) {
			names := []string{m[2]}
			if m[1] != "" {
				names = []string{"backend" + m[2], "frontend" + m[2]}
			}
			for _, name := range names {
				read++
				assert.Containsf(t, outputs, name, "%s reads the stack output %s, which production does not export", path, name)
			}
		}
	}
	assert.Greater(t, read, 5, "the scripts' reads were found")
}

// TestTheDocsLinkWhereTheySay: README's first screen links every file of docs/, and every
// relative link of README and docs/ leads to a file and heading that exist.
func TestTheDocsLinkWhereTheySay(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	index := readmeSection(t, "## Documentation")
	docs, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	for _, d := range docs {
		assert.Containsf(t, index, "]("+d+")", "README's documentation index does not link %s", d)
	}
	assert.Less(t, strings.Count(string(readme), "\n"), 250, "README stays short enough to read in one sitting")

	slug := func(heading string) string {
		s := strings.ToLower(strings.TrimSpace(heading))
		s = regexp.MustCompile(`[^a-z0-9 \-]`).ReplaceAllString(s, "")
		return strings.ReplaceAll(s, " ", "-")
	}
	anchors := func(path string) map[string]bool {
		text, err := os.ReadFile(path)
		require.NoError(t, err)
		out := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(text), -1) {
			out[slug(m[1])] = true
		}
		return out
	}
	link := regexp.MustCompile(`\]\(([^)#:]*)(#[^)]*)?\)`)
	for _, path := range docFiles(t) {
		text, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			target := path
			if m[1] != "" {
				target = filepath.Join(filepath.Dir(path), m[1])
			}
			if !assert.FileExistsf(t, target, "%s links %s", path, m[1]) || m[2] == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			assert.Truef(t, anchors(target)[strings.TrimPrefix(m[2], "#")], "%s links %s%s, a heading %s does not have", path, m[1], m[2], target)
		}
	}
}
