// Package plan is a Pulumi stack as plain JSON values: the resources a program registers, with
// their inputs, outputs and options. The offline engine produces one from the program; the
// policy pack builds one from what a real preview shows. The guard rules read it.
package plan

import (
	"encoding/json"
	"strings"
)

// Plan is what the program would create on an empty stack. Its JSON form is a contract read by
// tooling and reviewers: fields may be added, never renamed or removed.
type Plan struct {
	Project string `json:"project"`
	Stack   string `json:"stack"`
	// Account is the AWS account the stack deploys into (added to the original shape).
	Account   string          `json:"account,omitempty"`
	Resources []*PlanResource `json:"resources"`
	Outputs   map[string]any  `json:"outputs"`
	// Warnings are what "pulumi up" would warn about (added to the original shape).
	Warnings []string `json:"warnings"`
	// Deployed is true for a plan read from a deployed stack ("pulumi stack export"): its ids
	// and ARNs are AWS's, not the offline engine's (added to the original shape).
	Deployed bool `json:"deployed,omitempty"`
}

// PlanResource is one registration as the engine saw it.
type PlanResource struct {
	// URN, Type and Name identify the resource as Pulumi does: Name is the logical name.
	URN  string `json:"urn"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Custom is true for a provider's resource, false for a component; Remote is true for a
	// component whose children its own provider creates (see ModeledBy).
	Custom bool `json:"custom"`
	Remote bool `json:"remote"`
	// Parent is the parent's URN, "" at the top; Provider is the explicit provider reference,
	// "" for the default provider.
	Parent   string `json:"parent"`
	Provider string `json:"provider"`
	// Protect, RetainOnDelete, DeleteBeforeReplace and IgnoreChanges are the lifecycle options
	// the program set.
	Protect             bool     `json:"protect"`
	RetainOnDelete      bool     `json:"retainOnDelete"`
	DeleteBeforeReplace bool     `json:"deleteBeforeReplace"`
	IgnoreChanges       []string `json:"ignoreChanges"`
	// DeleteBeforeReplaceDefined is true when the program set DeleteBeforeReplace, true or
	// false: the engine then follows it; otherwise the provider decides (added to the original
	// shape).
	DeleteBeforeReplaceDefined bool `json:"deleteBeforeReplaceDefined,omitempty"`
	// Aliases are the URNs the resource had before (pulumi.Aliases, and those it inherits from
	// an aliased parent): a stack that holds one of them updates that resource instead of
	// replacing it (added to the original shape).
	Aliases []string `json:"aliases,omitempty"`
	// DependsOn is every URN the resource waits for, explicitly or through its inputs.
	DependsOn []string `json:"dependsOn"`
	// Inputs are as the provider would receive them; Outputs as AWS would answer, faked
	// deterministically where only AWS knows.
	Inputs  map[string]any `json:"inputs"`
	Outputs map[string]any `json:"outputs"`
	// ID is the fake physical id the engine answered with.
	ID string `json:"id"`
	// CustomTimeouts are the create, update and delete timeouts the program set, where it set
	// any (added to the original shape).
	CustomTimeouts map[string]string `json:"customTimeouts,omitempty"`
	// Version is the version of the package the program asked for the resource (the
	// provider plugin's), where it asked (added to the original shape).
	Version string `json:"version,omitempty"`
	// ModeledBy is set on the children of a remote component that the engine derived from the
	// component's source code (awsxvpc.go), since mocks see only the component: the
	// component's type token (added to the original shape).
	ModeledBy string `json:"modeledBy,omitempty"`
}

// SecretPlaceholder stands for every secret value in the plan, and for each encrypted value of
// a stack file (see LoadStackConfig).
const SecretPlaceholder = "[secret]"

// Unknown stands for a value a preview does not know yet (an ARN AWS has not assigned), with
// where it comes from: UnknownPrefix and the URN of the resource it is an output of, when a
// single resource it depends on tells that. Two unknowns from the same resource compare equal,
// so a reference to a resource still resolves to it; a rule that reads an unknown value's
// format or content skips it (see IsUnknown).
const UnknownPrefix = "<unknown>"

// IsUnknown is true for a value a preview does not know yet.
func IsUnknown(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(s, UnknownPrefix)
}

// ProviderURN is the URN of a provider reference ("<urn>::<id>").
func ProviderURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i >= 0 {
		return ref[:i]
	}
	return ref
}

// Accessors of a plan, for the programs' tests and tools: the plan is plain JSON values, and
// these read them without a type switch at every use.

// Fataler is what fails a test: a *testing.T or *testing.B.
type Fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// All returns every resource of a type, in plan order.
func (p *Plan) All(typ string) []*PlanResource {
	var out []*PlanResource
	for _, r := range p.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Find returns the resource of a type and logical name, or nil.
func (p *Plan) Find(typ, name string) *PlanResource {
	for _, r := range p.Resources {
		if r.Type == typ && r.Name == name {
			return r
		}
	}
	return nil
}

// One returns the resource of a type and logical name, and fails t when there is none.
func (p *Plan) One(t Fataler, typ, name string) *PlanResource {
	t.Helper()
	r := p.Find(typ, name)
	if r == nil {
		t.Fatalf("plan has no %s named %q", typ, name)
	}
	return r
}

// ByURN returns the resource with a URN, or nil.
func (p *Plan) ByURN(urn string) *PlanResource {
	for _, r := range p.Resources {
		if r.URN == urn {
			return r
		}
	}
	return nil
}

// In returns an input as a string ("" when absent or not a string).
func (r *PlanResource) In(key string) string {
	s, _ := r.Inputs[key].(string)
	return s
}

// Num returns a numeric input (JSON numbers are float64), or -1 when absent.
func (r *PlanResource) Num(key string) float64 {
	if f, ok := r.Inputs[key].(float64); ok {
		return f
	}
	return -1
}

// Flag returns a boolean input, false when absent.
func (r *PlanResource) Flag(key string) bool {
	b, _ := r.Inputs[key].(bool)
	return b
}

// Obj returns an object input, or nil.
func (r *PlanResource) Obj(key string) map[string]any {
	m, _ := r.Inputs[key].(map[string]any)
	return m
}

// List returns a list input, or nil.
func (r *PlanResource) List(key string) []any {
	l, _ := r.Inputs[key].([]any)
	return l
}

// Doc parses a JSON document input (a policy, container definitions, a dashboard body) into
// into, and fails t when it is missing or not JSON.
func (r *PlanResource) Doc(t Fataler, key string, into any) {
	t.Helper()
	s := r.In(key)
	if s == "" {
		t.Fatalf("%s %s has no %s", r.Type, r.Name, key)
	}
	if err := json.Unmarshal([]byte(s), into); err != nil {
		t.Fatalf("%s %s: %s is not valid JSON: %v: %s", r.Type, r.Name, key, err, s)
	}
}

// Clone is a deep copy of the plan, through its JSON: a test breaks the copy and keeps the
// original.
func (p *Plan) Clone() (*Plan, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var out Plan
	return &out, json.Unmarshal(b, &out)
}
