package guard

import (
	"cmp"
	"coldchain/internal/limits"
	"coldchain/internal/plan"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// The policy pack runs the rules over what Pulumi shows a stack policy: at "pulumi preview",
// every resource's planned outputs (a value AWS has not assigned yet is unknown); at the end of
// "pulumi up", the stack as deployed. Each rule is one stack policy named by its id, mandatory
// unless Levels says otherwise; a policy config file (policypack/staging.json) changes the
// levels per stack, as "pulumi preview --policy-pack-config" reads it.

// PackName and PackVersion identify the pack; bump the version when a rule changes.
const (
	PackName    = "coldchain-guard"
	PackVersion = "1.0.0"
)

// Levels are the enforcement levels that are not mandatory: DATA-03 (staging is disposable)
// contradicts DATA-01 and DATA-02 (production keeps its data), so the pack enforces the
// production pair and staging's config file swaps them.
var Levels = map[string]policyx.EnforcementLevel{"DATA-03": policyx.EnforcementLevelDisabled}

// Pack returns the policy pack: every rule the analyzer can run (see OfflineOnly).
func Pack() (policyx.PolicyPack, error) {
	var policies []policyx.Policy
	for _, rule := range Rules() {
		if OfflineOnly[rule.ID] != "" {
			continue
		}
		policies = append(policies, policyx.NewStackValidationPolicy(rule.ID, policyx.StackValidationPolicyArgs{
			Description:      fmt.Sprintf("%s (%s)", rule.Text, rule.Control),
			EnforcementLevel: level(rule.ID),
			ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
				for _, violation := range checkSafely(rule, stackPlan(args.Resources)) {
					args.Manager.ReportViolation(violation, "")
				}
				return nil
			},
		}))
	}
	return policyx.NewPolicyPack(PackName, semver.MustParse(PackVersion), policyx.EnforcementLevelMandatory, policies)
}

// level is a rule's enforcement level (EnforcementLevelAdvisory is the zero value, so a missing
// entry cannot simply default).
func level(id string) policyx.EnforcementLevel {
	if l, ok := Levels[id]; ok {
		return l
	}
	return policyx.EnforcementLevelMandatory
}

// Serve serves the pack to the Pulumi engine as an analyzer plugin: it prints the port it
// listens on and answers until the engine stops it. It is the policy pack's main (policypack/).
func Serve() error {
	return policyx.Main(func(*pulumi.Context) (policyx.PolicyPack, error) { return Pack() })
}

// checkSafely runs a rule; a rule that cannot read the stack (a value of a shape it did not
// expect) reports that as its violation rather than ending the analysis.
func checkSafely(rule Rule, p *plan.Plan) (violations []string) {
	defer func() {
		if r := recover(); r != nil {
			violations = append(violations, fmt.Sprintf("%s could not read the stack: %v", rule.ID, r))
		}
	}()
	return rule.Check(p)
}

// The policies of one analysis share one plan: the engine hands each policy the same slice.
var (
	lastResources []policyx.AnalyzerResource
	lastPlan      *plan.Plan
	lastMu        sync.Mutex
)

func stackPlan(resources []policyx.AnalyzerResource) *plan.Plan {
	lastMu.Lock()
	defer lastMu.Unlock()
	if lastPlan == nil || len(resources) != len(lastResources) || (len(resources) > 0 && &resources[0] != &lastResources[0]) {
		lastResources, lastPlan = resources, FromAnalyzer(resources)
	}
	return lastPlan
}

// FromAnalyzer builds the plan the rules read from the resources of a stack policy's analysis.
// Analyzers see each resource's outputs but not its id, nor whether it is a component, nor
// retainOnDelete; so:
//   - Inputs and Outputs are both the resource's properties (outputs include the inputs);
//     null properties are left out and secret values are plan.SecretPlaceholder;
//   - an unknown value is plan.UnknownPrefix followed by the URN of the resource it will come
//     from, where that is known (see unknownSource): a reference to a resource not created
//     yet then equals that resource's unknown output or id, and a rule can still compare the
//     two; a bare plan.UnknownPrefix can be compared with nothing (see opaque);
//   - a resource's ID is the known value that another resource's "...Id" property takes from
//     it alone (a subnet's id, from its route table association), else unknown;
//   - Custom is true for providers and types of the form "pkg:module/resource:Type", which
//     bridged providers' resources have and components do not;
//   - Provider is "" for a default provider, else the provider's URN and id, as the program's
//     plan records it; a provider's JSON-encoded configuration (defaultTags) is decoded;
//   - Outputs of the plan are the stack's outputs, and Account is the stack's AWS account (see
//     accountOf).
func FromAnalyzer(resources []policyx.AnalyzerResource) *plan.Plan {
	p := &plan.Plan{}
	byURN := map[string]*plan.PlanResource{}
	providerOf := map[*plan.PlanResource]string{} // the URN of an explicit provider
	for _, a := range resources {
		project, stack := urnProjectStack(a.URN)
		p.Project, p.Stack = cmp.Or(p.Project, project), cmp.Or(p.Stack, stack)
		provider := strings.HasPrefix(a.Type, "pulumi:providers:")
		props := map[string]any{}
		for key, v := range a.Properties.All {
			if value, ok := plainValue(v, unknownSource(a, key), provider); ok {
				props[key] = value
			}
		}
		if a.Type == "pulumi:pulumi:Stack" {
			p.Outputs = props
			continue
		}
		_, module, _ := strings.Cut(a.Type, ":")
		module, _, _ = strings.Cut(module, ":")
		r := &plan.PlanResource{
			URN: a.URN, Type: a.Type, Name: a.Name, Parent: a.Parent,
			Custom:              provider || strings.Contains(module, "/"),
			Protect:             a.Options.Protect,
			DeleteBeforeReplace: a.Options.DeleteBeforeReplace,
			IgnoreChanges:       a.Options.IgnoreChanges,
			DependsOn:           a.Dependencies,
			Inputs:              props,
			Outputs:             props,
			ID:                  plan.UnknownPrefix + a.URN,
		}
		if a.Provider.URN != "" && !strings.HasPrefix(a.Provider.Name, "default") {
			providerOf[r] = a.Provider.URN
		}
		p.Resources = append(p.Resources, r)
		byURN[r.URN] = r
	}
	inferIDs(resources, byURN)
	for r, urn := range providerOf {
		id := plan.UnknownPrefix + urn
		if provider := byURN[urn]; provider != nil {
			id = provider.ID
		}
		r.Provider = urn + "::" + id
	}
	p.Account = accountOf(p)
	return p
}

// urnProjectStack reads the stack and project out of urn:pulumi:<stack>::<project>::...
func urnProjectStack(urn string) (project, stack string) {
	parts := strings.Split(strings.TrimPrefix(urn, "urn:pulumi:"), "::")
	if len(parts) < 2 {
		return "", ""
	}
	return parts[1], parts[0]
}

// unknownSource is the resource an unknown property's value will come from: the one resource
// it depends on, or, when it depends on none, the resource itself (an ARN AWS assigns it at
// create); "" when it depends on several, and for the stack's outputs, whose dependencies the
// engine does not record.
func unknownSource(a policyx.AnalyzerResource, key string) string {
	switch deps := a.PropertyDependencies[key]; {
	case a.Type == "pulumi:pulumi:Stack":
		return ""
	case len(deps) == 0:
		return a.URN
	default:
		return soleDependency(deps)
	}
}

func soleDependency(urns []string) string {
	if len(urns) == 1 {
		return urns[0]
	}
	return ""
}

// plainValue turns a property value into the plan's plain JSON values; ok is false for null.
func plainValue(v property.Value, dependency string, decodeJSON bool) (any, bool) {
	switch {
	case v.IsComputed():
		return plan.UnknownPrefix + dependency, true
	case v.Secret():
		return plan.SecretPlaceholder, true
	case v.IsNull():
		return nil, false
	case v.IsBool():
		return v.AsBool(), true
	case v.IsNumber():
		return v.AsNumber(), true
	case v.IsString():
		s := v.AsString()
		var decoded any
		if decodeJSON && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Unmarshal([]byte(s), &decoded) == nil {
			return decoded, true
		}
		return s, true
	case v.IsArray():
		out := []any{}
		for _, e := range v.AsArray().All {
			e, _ := plainValue(e, dependency, false)
			out = append(out, e)
		}
		return out, true
	case v.IsMap():
		out := map[string]any{}
		for key, e := range v.AsMap().All {
			if e, ok := plainValue(e, dependency, false); ok {
				out[key] = e
			}
		}
		return out, true
	case v.IsResourceReference():
		return v.AsResourceReference().URN, true
	}
	return fmt.Sprint(v), true // assets and archives, which no rule reads
}

// inferIDs gives each resource whose id other resources take (a known "...Id" property that
// depends on that resource alone) the value they take most often, preferring one that is
// none of its other outputs (a key's kmsKeyId is often its ARN; its id is not).
func inferIDs(resources []policyx.AnalyzerResource, byURN map[string]*plan.PlanResource) {
	type candidate struct {
		id    string
		count int
		other bool // the value is also another output of the resource
	}
	candidates := map[*plan.PlanResource][]*candidate{}
	for _, a := range resources {
		r := byURN[a.URN]
		if r == nil {
			continue
		}
		for key, value := range r.Inputs {
			id, isString := value.(string)
			from := byURN[soleDependency(a.PropertyDependencies[key])]
			if !strings.HasSuffix(key, "Id") || !isString || plan.IsUnknown(id) || from == nil || !from.Custom {
				continue
			}
			i := slices.IndexFunc(candidates[from], func(c *candidate) bool { return c.id == id })
			if i < 0 {
				other := slices.Contains(slices.Collect(maps.Values(from.Outputs)), any(id))
				candidates[from] = append(candidates[from], &candidate{id: id, other: other})
				i = len(candidates[from]) - 1
			}
			candidates[from][i].count++
		}
	}
	for r, cs := range candidates {
		best := slices.MaxFunc(cs, func(a, b *candidate) int {
			return cmp.Or(cmp.Compare(a.count, b.count), boolOrder(!a.other, !b.other), strings.Compare(b.id, a.id))
		})
		r.ID = best.id
	}
}

func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

var (
	arnAccount    = regexp.MustCompile(`arn:aws[\w-]*:[\w-]+:[\w-]*:(\d{12}):`)
	sourceAccount = regexp.MustCompile(`"aws:SourceAccount"\s*:\s*"(\d{12})"`)
)

// accountOf is the stack's AWS account: the one the AWS provider allows, when it is told one
// (allowedAccountIds); else the account of most known ARNs; else, in the preview of a stack
// not created yet, where ARNs are unknown, the account the trust policies name, which SEC-04
// then checks for consistency only. The ELB log delivery accounts do not count.
func accountOf(p *plan.Plan) string {
	for _, provider := range p.All("pulumi:providers:aws") {
		if ids := Strs(provider.Inputs["allowedAccountIds"]); len(ids) == 1 {
			return ids[0]
		}
	}
	var texts []string
	for _, r := range p.Resources {
		texts = appendStrings(texts, r.Outputs)
	}
	elb := slices.Collect(maps.Values(limits.ELBLogAccounts))
	for _, pattern := range []*regexp.Regexp{arnAccount, sourceAccount} {
		count := map[string]int{}
		best := ""
		for _, text := range texts {
			for _, m := range pattern.FindAllStringSubmatch(text, -1) {
				if !slices.Contains(elb, m[1]) {
					count[m[1]]++
					if count[m[1]] > count[best] || (count[m[1]] == count[best] && m[1] < best) {
						best = m[1]
					}
				}
			}
		}
		if best != "" {
			return best
		}
	}
	return ""
}

// appendStrings appends every string in a plain value.
func appendStrings(out []string, v any) []string {
	switch x := v.(type) {
	case string:
		return append(out, x)
	case []any:
		for _, e := range x {
			out = appendStrings(out, e)
		}
	case map[string]any:
		for _, key := range slices.Sorted(maps.Keys(x)) {
			out = appendStrings(out, x[key])
		}
	}
	return out
}
