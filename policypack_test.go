package main

import (
	"coldchain/internal/guard"
	"coldchain/internal/offline"
	"coldchain/internal/plan"
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The policy pack (internal/guard/pack.go, folder policypack) runs the guard rules over what
// Pulumi shows a stack policy. These tests show it each variation's plan as Pulumi would:
// after an up, every property known; in the preview of a stack not created yet, every value
// AWS assigns unknown, and so every property built from one. The pack must find nothing in
// either, and must fire on each broken plan the rules' own tests build (assertCatches).

// analyzerView is what a stack policy is shown of a plan. Each property's dependencies are the
// resources whose assigned values (ids, ARNs, other outputs AWS assigns) it contains, as the
// engine records them; ids are never shown; provider configuration is JSON-encoded, as the
// engine keeps it; secrets are secret values.
func analyzerView(t testing.TB, p *offline.Plan, preview bool) []policyx.AnalyzerResource {
	t.Helper()
	assigned := map[string][]string{} // URN -> the values AWS assigns it
	for _, r := range p.Resources {
		if !r.Custom {
			continue
		}
		autonamed, _ := offline.AutonamedProperty(r.Type)
		assigned[r.URN] = append(assigned[r.URN], r.ID)
		for key, v := range r.Outputs {
			if s, ok := v.(string); ok && key != autonamed && len(s) > 8 && r.Inputs[key] == nil {
				assigned[r.URN] = append(assigned[r.URN], s)
			}
		}
	}
	// convert turns a plain value into a property value: unknown where, in a preview, it holds
	// a value assigned to one of deps; it records which deps it holds.
	var convert func(v any, deps []string, used map[string]bool) property.Value
	convert = func(v any, deps []string, used map[string]bool) property.Value {
		switch x := v.(type) {
		case string:
			computed := false
			for _, d := range deps {
				for _, a := range assigned[d] {
					if a != "" && strings.Contains(x, a) {
						used[d], computed = true, preview
					}
				}
			}
			if computed {
				return property.New(property.Computed)
			}
			if x == offline.SecretPlaceholder {
				return property.New("a secret value").WithSecret(true)
			}
			return property.New(x)
		case []any:
			out := make([]property.Value, len(x))
			for i, e := range x {
				out[i] = convert(e, deps, used)
			}
			return property.New(out)
		case map[string]any:
			out := map[string]property.Value{}
			for key, e := range x {
				out[key] = convert(e, deps, used)
			}
			return property.New(out)
		case nil:
			return property.New(property.Null)
		}
		value, err := property.Any(v)
		require.NoError(t, err)
		return value
	}
	stackURN := "urn:pulumi:" + p.Stack + "::" + p.Project + "::pulumi:pulumi:Stack::" + p.Project + "-" + p.Stack
	defaultProvider := policyx.AnalyzerProviderResource{Type: "pulumi:providers:aws",
		URN: "urn:pulumi:" + p.Stack + "::" + p.Project + "::pulumi:providers:aws::default_6_83_4", Name: "default_6_83_4"}
	var out []policyx.AnalyzerResource
	properties := func(r *offline.PlanResource, values map[string]any, deps []string) (property.Map, map[string][]string) {
		props, propertyDeps := map[string]property.Value{}, map[string][]string{}
		for key, v := range values {
			used := map[string]bool{}
			props[key] = convert(v, deps, used)
			if r != nil && r.Type == "pulumi:providers:aws" && (props[key].IsMap() || props[key].IsArray()) {
				b, err := json.Marshal(v)
				require.NoError(t, err)
				props[key] = property.New(string(b))
			}
			if len(used) > 0 {
				propertyDeps[key] = slices.Sorted(maps.Keys(used))
			}
		}
		return property.NewMap(props), propertyDeps
	}
	for _, r := range p.Resources {
		values := maps.Clone(r.Outputs)
		maps.Copy(values, r.Inputs)
		props, propertyDeps := properties(r, values, r.DependsOn)
		if preview {
			for key := range values {
				if s, _ := values[key].(string); r.Inputs[key] == nil && s != "" && slices.Contains(assigned[r.URN], s) {
					props = props.Set(key, property.New(property.Computed)) // AWS assigns it at create
					delete(propertyDeps, key)
				}
			}
		}
		a := policyx.AnalyzerResource{Type: r.Type, Name: r.Name, URN: r.URN, Parent: r.Parent, Properties: props,
			Dependencies: r.DependsOn, PropertyDependencies: propertyDeps,
			Options: pulumi.ResourceOptions{Protect: r.Protect, IgnoreChanges: r.IgnoreChanges, DeleteBeforeReplace: r.DeleteBeforeReplace}}
		if r.Remote {
			// A remote component is constructed by its own package's provider (the awsx
			// VPC by awsx's default one), whatever provider its children get.
			pkg, _, _ := strings.Cut(r.Type, ":")
			a.Provider = policyx.AnalyzerProviderResource{Type: "pulumi:providers:" + pkg, Name: "default",
				URN: "urn:pulumi:" + p.Stack + "::" + p.Project + "::pulumi:providers:" + pkg + "::default"}
		} else if i := strings.LastIndex(r.Provider, "::"); i > 0 {
			providerURN := r.Provider[:i]
			provider := p.ByURN(providerURN)
			require.NotNil(t, provider, "%s's provider %s", r.Name, providerURN)
			a.Provider = policyx.AnalyzerProviderResource{Type: provider.Type, URN: provider.URN, Name: provider.Name}
		} else if r.Custom && r.Type != "pulumi:providers:aws" {
			a.Provider = defaultProvider
		}
		out = append(out, a)
	}
	var all []string
	for _, r := range p.Resources {
		all = append(all, r.URN)
	}
	// The engine records no property dependencies for the stack's outputs.
	outputs, _ := properties(nil, p.Outputs, all)
	return append(out, policyx.AnalyzerResource{Type: "pulumi:pulumi:Stack", Name: p.Project + "-" + p.Stack, URN: stackURN,
		Properties: outputs})
}

// packViolations runs every policy of the pack, at the levels a stack's policy config file
// sets, over what it is shown, and returns the violations by policy.
func packViolations(t testing.TB, stack string, resources []policyx.AnalyzerResource) map[string][]string {
	t.Helper()
	pack, err := guard.Pack()
	require.NoError(t, err)
	levels := packLevels(t, stack)
	found := map[string][]string{}
	for _, policy := range pack.Policies() {
		level := policy.EnforcementLevel()
		if l, ok := levels[policy.Name()]; ok {
			level = l
		}
		if level == policyx.EnforcementLevelDisabled {
			continue
		}
		stackPolicy, ok := policy.(policyx.StackValidationPolicy)
		require.True(t, ok, "%s is not a stack policy", policy.Name())
		manager := &recorder{}
		require.NoError(t, stackPolicy.Validate(context.Background(), policyx.StackValidationArgs{Manager: manager, Resources: resources}))
		if len(manager.violations) > 0 {
			found[policy.Name()] = manager.violations
		}
	}
	return found
}

type recorder struct{ violations []string }

func (r *recorder) ReportViolation(message, _ string) { r.violations = append(r.violations, message) }

// packLevels reads the levels of a stack's policy config file, policypack/<stack>.json, as
// "pulumi preview --policy-pack-config" does: a policy's entry is its level, or an object
// with "enforcementLevel".
func packLevels(t testing.TB, stack string) map[string]policyx.EnforcementLevel {
	t.Helper()
	raw, err := os.ReadFile("policypack/" + stack + ".json")
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var config map[string]any
	require.NoError(t, json.Unmarshal(raw, &config))
	levels := map[string]policyx.EnforcementLevel{}
	names := map[string]policyx.EnforcementLevel{"advisory": policyx.EnforcementLevelAdvisory,
		"mandatory": policyx.EnforcementLevelMandatory, "disabled": policyx.EnforcementLevelDisabled}
	for policy, v := range config {
		if m, ok := v.(map[string]any); ok {
			v = m["enforcementLevel"]
		}
		level, ok := names[v.(string)]
		require.Truef(t, ok, "policypack/%s.json: %s has level %v", stack, policy, v)
		levels[policy] = level
	}
	return levels
}

func TestPolicyPackPassesEveryVariationAfterUpAndInAPreview(t *testing.T) {
	t.Parallel()
	for _, v := range variations {
		p := planOfVariation(t, v)
		for _, preview := range []bool{false, true} {
			name := v.name + "/after up"
			if preview {
				name = v.name + "/preview of a new stack"
			}
			t.Run(name, func(t *testing.T) {
				for policy, violations := range packViolations(t, v.stack, analyzerView(t, p, preview)) {
					for _, violation := range violations {
						t.Errorf("%s: %s", policy, violation)
					}
				}
			})
		}
	}
}

// assertCatches asserts that a rule finds nothing in base and something in broken, and that
// the policy pack does the same after an up, where the pack runs the rule.
func assertCatches(t *testing.T, id string, base, broken *offline.Plan) {
	t.Helper()
	rule := guard.Find(id)
	assert.NotEmptyf(t, rule.Check(broken), "%s does not notice its violation", id)
	assert.Emptyf(t, rule.Check(base), "%s flags the unbroken plan", id)
	if guard.OfflineOnly[id] != "" {
		return
	}
	assert.NotEmptyf(t, packViolations(t, base.Stack, analyzerView(t, broken, false))[id], "the pack's %s does not notice the violation", id)
	assert.Emptyf(t, packViolations(t, base.Stack, analyzerView(t, base, false))[id], "the pack's %s flags the unbroken plan", id)
}

func TestPolicyPackCatchesInAPreviewWhatAPreviewKnows(t *testing.T) {
	t.Parallel()
	base := planOfVariation(t, variations[0])
	preview := guard.FromAnalyzer(analyzerView(t, base, true))
	unknown, values := 0, 0
	for _, r := range preview.Resources {
		for _, v := range r.Inputs {
			values++
			if plan.IsUnknown(v) {
				unknown++
			}
		}
	}
	assert.Greater(t, unknown*5, values, "the preview view hides every assigned value: at least a fifth of the properties are unknown")
	assert.Equal(t, preview.One(t, kmsKeyType, "data").Outputs["arn"], preview.One(t, dbType, "postgres").Inputs["kmsKeyId"],
		"the database's unknown key is the data key's unknown ARN")

	for _, tc := range []brokenPlan{
		{"SEC-01", func(p *offline.Plan) { p.One(t, dbType, "postgres").Inputs["storageEncrypted"] = false }},
		{"SEC-02", func(p *offline.Plan) { p.One(t, redisType, "redis").Inputs["transitEncryptionEnabled"] = false }},
		{"SEC-03", func(p *offline.Plan) { p.One(t, ingressType, "database-from-backend").Inputs["cidrIpv4"] = "0.0.0.0/0" }},
		{"DATA-01", func(p *offline.Plan) { p.One(t, bucketType, "uploads").Protect = false }},
		{"NET-04", func(p *offline.Plan) {
			p.One(t, subnetType, "vpc-isolated-1").Inputs["cidrBlock"] = p.One(t, subnetType, "vpc-public-2").In("cidrBlock")
		}},
		{"AWS-02", func(p *offline.Plan) { p.One(t, taskDefType, "backend").Inputs["memory"] = "16384" }},
	} {
		broken := clonePlan(t, base)
		tc.break_(broken)
		assert.NotEmptyf(t, packViolations(t, "production", analyzerView(t, broken, true))[tc.rule], "a preview does not show %s's violation", tc.rule)
	}
}

func TestPolicyPackFolderIsAGoPackWithValidConfig(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("policypack/PulumiPolicy.yaml")
	require.NoError(t, err)
	var manifest struct{ Runtime, Description string }
	require.NoError(t, yaml.Unmarshal(raw, &manifest))
	assert.Equal(t, "go", manifest.Runtime)
	assert.NotEmpty(t, manifest.Description)

	// The CLI accepts a config file naming a policy the pack does not have, and the entry does
	// nothing: a renamed rule would silently lose its level.
	pack, err := guard.Pack()
	require.NoError(t, err)
	var names []string
	for _, policy := range pack.Policies() {
		names = append(names, policy.Name())
	}
	levels := packLevels(t, "staging")
	require.NotEmpty(t, levels)
	for name := range levels {
		assert.Contains(t, names, name, "policypack/staging.json")
	}

	// Each preview and up of the workflows runs the pack, staging's with its config.
	for _, f := range []string{".github/workflows/pull-request.yml", ".github/workflows/up.yml"} {
		flow, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Containsf(t, string(flow), "policyPacks: policypack\n", "%s does not run the pack", f)
		assert.Containsf(t, string(flow), "policypack/staging.json", "%s does not give staging its config", f)
	}
	// The action's "up" skips the CLI's preview: the deployment previews with the pack first.
	up, err := os.ReadFile(".github/workflows/up.yml")
	require.NoError(t, err)
	preview := strings.Index(string(up), "command: preview\n          stack-name: ${{ env.PULUMI_STACK }}\n          cloud-url: ${{ vars.PULUMI_BACKEND_URL }}\n          policyPacks: policypack")
	assert.True(t, preview >= 0 && preview < strings.Index(string(up), "command: up"), "up.yml does not preview with the pack before its up")
}
