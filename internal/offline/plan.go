package offline

import "encoding/json"

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
