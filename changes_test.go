package main

import (
	"bytes"
	"coldchain/internal/change"
	"coldchain/internal/offline"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transitionOf is the battery's preview of a change of production.
func transitionOf(t *testing.T, sets ...string) *change.Preview {
	t.Helper()
	for _, r := range runTransitions(t) {
		if r.stack == "production" && slices.Equal(r.tr.sets, sets) {
			require.NoError(t, r.err)
			return r.preview
		}
	}
	t.Fatalf("the battery has no production row %v", sets)
	return nil
}

// stepNamed is the step of a resource type and logical name.
func stepNamed(t *testing.T, p *change.Preview, typ, name string) *change.Step {
	t.Helper()
	for _, s := range p.Steps {
		if s.Type == typ && s.Name == name {
			return s
		}
	}
	t.Fatalf("no step for %s %s", typ, name)
	return nil
}

// TestDayTwoChangesArePreviewedAsTheProviderDoesThem pins what the issue found on live stacks,
// after the fixes: each change is the step pulumi-aws v6.83.4 takes (terraform-provider-aws
// v5.100.0's ForceNew and CustomizeDiff, the bridge's delete-before-replace, the program's
// options), and what stops it.
func TestDayTwoChangesArePreviewedAsTheProviderDoesThem(t *testing.T) {
	t.Parallel()
	const backups = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
	const service, lifecycle = "aws:ecs/service:Service", "aws:ecr/lifecyclePolicy:LifecyclePolicy"

	// A new retention replaces the copy of the backups (every input replaces it): deleted
	// first, since its delete stops the replication of the instance, and protected, so that
	// "pulumi up" stops before the copy restarts.
	s := stepNamed(t, transitionOf(t, "dbBackupRetentionDays=14"), backups, "postgres-backups")
	assert.Equal(t, change.OpReplace, s.Op)
	assert.Equal(t, []string{"retentionPeriod"}, s.ReplaceReasons)
	assert.True(t, s.DeleteBeforeReplace)
	assert.True(t, s.Protected)

	// A renamed instance keeps its data (an update) but gets another ARN, which the copy of
	// its backups names: the same stop. Its log groups follow the new name; the old ones stay.
	p := transitionOf(t, "dbIdentifier=coldchain-db")
	assert.Equal(t, change.OpUpdate, stepNamed(t, p, dbType, "postgres").Op)
	assert.True(t, stepNamed(t, p, backups, "postgres-backups").Protected)
	logs := stepNamed(t, p, logGroupType, "postgres-postgresql")
	assert.Equal(t, change.OpReplace, logs.Op)
	assert.True(t, logs.RetainOnDelete, "the old group and its history stay")

	// A release: a new task definition revision (created first), the service updated onto it,
	// and the lifecycle policy, which names the deployed tag, replaced delete-first.
	p = transitionOf(t, "backendImageTag="+releaseTag+"-next")
	assert.Equal(t, change.OpUpdate, stepNamed(t, p, service, "backend").Op)
	assert.Equal(t, []string{"taskDefinition"}, stepNamed(t, p, service, "backend").DiffReasons)
	assert.False(t, stepNamed(t, p, taskDefType, "backend").DeleteBeforeReplace)
	policy := stepNamed(t, p, lifecycle, "backend")
	assert.Equal(t, change.OpReplace, policy.Op)
	assert.True(t, policy.DeleteBeforeReplace, "one per repository: deleted first")
	assert.Equal(t, change.OpSame, stepNamed(t, p, service, "frontend").Op)

	// Fargate Spot changes the strategy in place (forceNewDeployment), a rolling deployment.
	p = transitionOf(t, "fargateSpot=true")
	for _, svc := range []string{"backend", "frontend"} {
		s := stepNamed(t, p, service, svc)
		assert.Equal(t, change.OpUpdate, s.Op, svc)
		assert.Contains(t, s.DiffReasons, "capacityProviderStrategies")
	}

	// Another cluster: the services are created in it before the old ones go.
	p = transitionOf(t, "clusterName=coldchain-cluster")
	for _, svc := range []string{"backend", "frontend"} {
		s := stepNamed(t, p, service, svc)
		assert.Equal(t, change.OpReplace, s.Op, svc)
		assert.False(t, s.DeleteBeforeReplace, svc)
	}
	assert.False(t, stepNamed(t, p, "aws:ecs/cluster:Cluster", "cluster").DeleteBeforeReplace)

	// A larger class waits for the maintenance window.
	s = stepNamed(t, transitionOf(t, "dbInstanceClass=db.t4g.large"), dbType, "postgres")
	assert.Equal(t, change.OpUpdate, s.Op)
	assert.Equal(t, []string{"instanceClass"}, s.Deferred)

	// A renamed logs bucket stops at its protection instead of deleting the access logs.
	s = stepNamed(t, transitionOf(t, "logsBucketName=coldchain-logs-renamed"), bucketType, "logs")
	assert.Equal(t, change.OpReplace, s.Op)
	assert.True(t, s.Protected)
}

// TestPlanAgainstAnEarlierPlanPrintsTheChangeAndItsJSON runs the command a reviewer runs:
// plan --json on the released stack, then plan --against it with a release, as text and as
// the JSON of pulumi preview --json's shape.
func TestPlanAgainstAnEarlierPlanPrintsTheChangeAndItsJSON(t *testing.T) {
	t.Parallel()
	code, before, errOut := runPlanCommand(t, append([]string{"--json"}, setFlags(released())...)...)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	path := filepath.Join(t.TempDir(), "before.json")
	require.NoError(t, os.WriteFile(path, []byte(before), 0o600))

	next := []string{"backendImageTag=" + releaseTag + "-next", "frontendImageTag=" + releaseTag}
	code, text, errOut := runPlanCommand(t, append([]string{"--against", path}, setFlags(next)...)...)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	assert.Contains(t, text, "Changes to coldchain/production against "+path+": 3 to replace (2 deleted first), 1 to update")
	assert.Contains(t, text, "-/+ aws:ecr/lifecyclePolicy:LifecyclePolicy  backend  (replaced: the old one deleted first; because of policy)")
	assert.Contains(t, text, `[0].image: "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/coldchain-production/backend:`+releaseTag+`" -> `)
	assert.Contains(t, text, "taskDefinition: ")
	assert.Contains(t, text, "(known after the update: the replacement of TaskDefinition backend)")

	code, out, errOut := runPlanCommand(t, append([]string{"--against", path, "--json"}, setFlags(next)...)...)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	var preview struct {
		Steps []struct {
			Op                  string                     `json:"op"`
			URN                 string                     `json:"urn"`
			DiffReasons         []string                   `json:"diffReasons"`
			ReplaceReasons      []string                   `json:"replaceReasons"`
			DetailedDiff        map[string]json.RawMessage `json:"detailedDiff"`
			DeleteBeforeReplace bool                       `json:"deleteBeforeReplace"`
		} `json:"steps"`
		ChangeSummary map[string]int `json:"changeSummary"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &preview))
	assert.Equal(t, 3, preview.ChangeSummary["replace"])
	assert.Equal(t, 1, preview.ChangeSummary["update"])
	var found bool
	for _, s := range preview.Steps {
		if strings.HasSuffix(s.URN, "aws:ecs/taskDefinition:TaskDefinition::backend") {
			found = true
			assert.Equal(t, "replace", s.Op)
			assert.Equal(t, []string{"containerDefinitions"}, s.ReplaceReasons)
			var d struct{ Kind string }
			require.NoError(t, json.Unmarshal(s.DetailedDiff["containerDefinitions"], &d))
			assert.Equal(t, "update-replace", d.Kind)
		}
	}
	assert.True(t, found)

	code, _, errOut = runPlanCommand(t, "--against", filepath.Join(t.TempDir(), "missing.json"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "plan --against: reading ")
}

// setFlags turns key=value settings into -c flags.
func setFlags(sets []string) []string {
	var out []string
	for _, s := range sets {
		out = append(out, "-c", s)
	}
	return out
}

// TestOneStackOfAnAccountOwnsItsSettings: the settings that exist once per account and region
// are declared by one stack, and the others plan none of them, so two stacks of one account
// (the shipped ones share one unless allowedAccountIds tells them apart) never overwrite each
// other's; the owner keeps them when destroyed. The shipped application stacks leave them to
// the account stack (account/); a team without one makes one application stack the owner.
func TestOneStackOfAnAccountOwnsItsSettings(t *testing.T) {
	t.Parallel()
	owners := map[string][]string{}
	for _, stack := range []string{"production", "staging"} {
		p := planOfFile(t, stack)
		if stack == "production" {
			p = planOfFile(t, stack, "accountSettingsOwner=true")
		}
		var singletons []string
		for _, r := range p.Resources {
			if accountWide(r) {
				singletons = append(singletons, r.Type)
				assert.Truef(t, r.RetainOnDelete, "%s %s: the owner's destroy must keep it for the account's other stacks", r.Type, r.Name)
			}
		}
		if len(singletons) > 0 {
			region := p.One(t, "pulumi:providers:aws", "aws").In("region")
			account := strings.Join(strs(p.One(t, "pulumi:providers:aws", "aws").Inputs["allowedAccountIds"]), ",")
			owners[account+"/"+region] = append(owners[account+"/"+region], stack)
		}
	}
	for where, stacks := range owners {
		assert.Lenf(t, stacks, 1, "stacks %v all declare the settings of account and region %s", stacks, where)
	}
	assert.Contains(t, slices.Concat(slices.Collect(maps.Values(owners))...), "production")

	// A stack that does not own them says what it needs from the owner.
	staging := planOfFile(t, "staging", "drRegion=ap-northeast-1")
	assert.Empty(t, filterResources(staging, accountWide))
	warnings := strings.Join(staging.Warnings, "\n")
	assert.Contains(t, warnings, "(coldchain-staging/backend, coldchain-staging/frontend): the account stack lists this stack with drRegion ap-northeast-1")
	assert.Contains(t, warnings, `accountReplicatedRepositories["ap-northeast-1"]`)
	for _, stack := range []string{"production", "staging"} {
		assert.Emptyf(t, filterResources(planOfFile(t, stack), accountWide), "the shipped %s leaves the account's settings to the account stack", stack)
	}

	// The owner replicates its own repositories and those it is told of, to their regions.
	p := planOfFile(t, "production", "accountSettingsOwner=true", `accountReplicatedRepositories={"ap-southeast-1":["coldchain-rehearsal/"]}`)
	var config struct {
		Rules []struct {
			Destinations      []struct{ Region, RegistryId string }
			RepositoryFilters []struct{ Filter, FilterType string }
		}
	}
	raw, _ := json.Marshal(p.One(t, "aws:ecr/replicationConfiguration:ReplicationConfiguration", "images").Inputs["replicationConfiguration"])
	require.NoError(t, json.Unmarshal(raw, &config))
	require.Len(t, config.Rules, 2)
	assert.Equal(t, "ap-northeast-1", config.Rules[0].Destinations[0].Region)
	assert.Equal(t, "coldchain-production/backend", config.Rules[0].RepositoryFilters[0].Filter)
	assert.Equal(t, "ap-southeast-1", config.Rules[1].Destinations[0].Region)
	assert.Equal(t, "coldchain-rehearsal/", config.Rules[1].RepositoryFilters[0].Filter)

	// The log policy grants every WAF and ElastiCache log group of the account and region, so
	// neither delivery adds one of its own, and the firewall's logging waits for it.
	var doc parsedPolicy
	p.One(t, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "waf-logs").Doc(t, "policyDocument", &doc)
	assert.Equal(t, []string{"arn:aws:logs:ap-northeast-2:123456789012:log-group:aws-waf-logs-*:log-stream:*",
		"arn:aws:logs:ap-northeast-2:123456789012:log-group:/aws/elasticache/*:log-stream:*"}, strs(doc.Statement[0].Resource))
	assert.Equal(t, "AWSWAF-LOGS", p.One(t, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "waf-logs").In("policyName"))
	logging := p.One(t, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "waf")
	assert.Contains(t, logging.DependsOn, p.One(t, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "waf-logs").URN)
}

// accountWide is true for a resource that exists once per account and region.
func accountWide(r *offline.PlanResource) bool {
	typ, ok := schemaOf(r.Type)
	return ok && typ.AccountWide
}

func filterResources(p *offline.Plan, keep func(*offline.PlanResource) bool) []*offline.PlanResource {
	var out []*offline.PlanResource
	for _, r := range p.Resources {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// TestEveryResourceThatExistsOncePerParentIsDeletedFirst: a repository's lifecycle policy, the
// backups' replication, the web ACL's association and logging... which a change can replace
// for the same parent, are deleted before their replacement is created. (One that only a new
// parent replaces, as the cluster's capacity providers, may be created first: the two never
// meet.)
func TestEveryResourceThatExistsOncePerParentIsDeletedFirst(t *testing.T) {
	t.Parallel()
	for _, v := range variations {
		for _, r := range planOfVariation(t, v).Resources {
			typ, ok := schemaOf(r.Type)
			if !ok || typ.OnePer == "" || r.ModeledBy != "" || slices.Equal(typ.Replaces, []string{typ.OnePer}) {
				continue // awsx's own children are awsx's choice
			}
			assert.Truef(t, r.DeleteBeforeReplace || typ.DeleteBeforeReplace, "%s: %s %s exists once per %s but would be replaced create-first",
				v.name, r.Type, r.Name, typ.OnePer)
		}
	}
}

// TestTheTreeSaysWhatAChangeDoes keeps the review text legible: a preview's text has the
// Terraform signs a team reviews by.
func TestTheTreeSaysWhatAChangeDoes(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	transitionOf(t, "dbBackupRetentionDays=14").Write(&out, "production")
	assert.Contains(t, out.String(), "pulumi up stops before changing anything")
	assert.Contains(t, out.String(), "-/+ aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication  postgres-backups")
	assert.Contains(t, out.String(), "retentionPeriod: 7 -> 14  forces replacement")
}

// TestAStackExportOfTheSamePlanChangesNothing writes the released production plan as
// "pulumi stack export" writes a stack (version 3, the stack resource first, secrets as the
// engine's secret objects, the provider's defaults listed in __defaults, AWS's ids instead of
// the engine's wherever they are used) and previews the same config against it: every
// resource is the same.
func TestAStackExportOfTheSamePlanChangesNothing(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	secret := map[string]any{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:AAAA"}
	var encode func(v any) any
	encode = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, e := range x {
				out[k] = encode(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = encode(e)
			}
			return out
		case string:
			if x == offline.SecretPlaceholder {
				return secret
			}
		}
		return v
	}
	// AWS's ids are not the engine's: every id AWS assigns becomes another, wherever it is used.
	real := map[string]string{}
	for _, r := range p.Resources {
		named := false // an id that is the resource's own name (a bucket's) is the same in AWS
		for key := range r.Inputs {
			named = named || r.Outputs[key] == r.ID
		}
		if r.Custom && len(r.ID) >= 16 && !named && !strings.HasPrefix(r.Type, "pulumi:providers:") {
			real[r.ID] = "aws-" + r.ID[len(r.ID)/2:] + "-" + r.ID[:len(r.ID)/2]
		}
	}
	require.Greater(t, len(real), 50, "the stack's ids must differ from the engine's for the test to mean anything")
	encodeReal := func(v any) any {
		b, err := json.Marshal(encode(v))
		require.NoError(t, err)
		text := string(b)
		for fake, aws := range real {
			text = strings.ReplaceAll(text, fake, aws)
		}
		var out any
		require.NoError(t, json.Unmarshal([]byte(text), &out))
		return out
	}
	stackURN := "urn:pulumi:production::coldchain::pulumi:pulumi:Stack::coldchain-production"
	resources := []map[string]any{{"urn": stackURN, "custom": false, "type": "pulumi:pulumi:Stack"}}
	for _, r := range p.Resources {
		inputs := encodeReal(r.Inputs).(map[string]any)
		inputs["__defaults"] = []any{"skipDestroy"}
		inputs["skipDestroy"] = false
		parent := r.Parent
		if parent == "" {
			parent = stackURN
		}
		resources = append(resources, map[string]any{
			"urn": r.URN, "custom": r.Custom, "id": encodeReal(r.ID), "type": r.Type, "inputs": inputs, "outputs": encodeReal(r.Outputs),
			"parent": parent, "protect": r.Protect, "provider": r.Provider, "dependencies": r.DependsOn,
		})
	}
	data, err := json.Marshal(map[string]any{"version": 3, "deployment": map[string]any{"resources": resources}})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "deployed.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))

	code, out, errOut := runPlanCommand(t, append([]string{"--against", path}, setFlags(released())...)...)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	assert.Containsf(t, out, "No changes.", "%s", out)
}

// TestTheURNsReadmeTellsToUnprotectExist keeps "Changing a stack" true: every URN it gives a
// command is one of production's.
func TestTheURNsReadmeTellsToUnprotectExist(t *testing.T) {
	t.Parallel()
	section := readmeSection(t, "## Changing a stack")
	urns := regexp.MustCompile(`urn:pulumi:production::[^'\x60\s]+`).FindAllString(section, -1)
	require.NotEmpty(t, urns)
	p := planOfFile(t, "production")
	for _, urn := range urns {
		assert.NotNilf(t, p.ByURN(urn), "README's \"Changing a stack\" names %s, which production does not have", urn)
	}
}
