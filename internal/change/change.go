// Package change previews what "pulumi up" does to a stack that holds one plan (an earlier
// "plan --json", or a "pulumi stack export") when the program now plans another: for every
// resource, same, update, replace, create or delete; the inputs that change and those that
// force the replacement; whether the old resource is deleted first; what protect stops; what
// AWS defers to a maintenance window.
//
// It follows the Pulumi engine's step generation: a resource is matched by its URN or one of
// its aliases; a replacement deletes first when the program says so (true or false), else when
// the provider does (pulumi-aws's own default for the type, or an autonamed property the program
// set: the bridge's nameRequiresDeleteBeforeReplace); the outputs AWS assigns a created or
// replaced resource are unknown until the update, so what depends on them changes too, and is
// replaced when the input is one that replaces. Which inputs replace is the schema table's
// (internal/schema). Its JSON has the shape of "pulumi preview --json": steps with op, urn,
// diffReasons, replaceReasons, detailedDiff and deleteBeforeReplace, and a changeSummary.
package change

import (
	"coldchain/internal/plan"
	"coldchain/internal/schema"
	"slices"
	"sort"
	"strings"
)

// The operations of a step, as "pulumi preview --json" names them.
const (
	OpSame    = "same"
	OpCreate  = "create"
	OpUpdate  = "update"
	OpReplace = "replace"
	OpDelete  = "delete"
)

// Preview is what "pulumi up" would do to go from one plan to another.
type Preview struct {
	Project string  `json:"project"`
	Stack   string  `json:"stack"`
	Steps   []*Step `json:"steps"`
	// ChangeSummary counts the steps by operation.
	ChangeSummary map[string]int `json:"changeSummary"`
}

// Step is what happens to one resource.
type Step struct {
	Op   string `json:"op"`
	URN  string `json:"urn"`
	Type string `json:"type"`
	// Name is the logical name (added to Pulumi's shape).
	Name string `json:"name"`
	// OldURN is the URN the stack holds it under, when it is matched through an alias.
	OldURN   string `json:"oldUrn,omitempty"`
	Provider string `json:"provider,omitempty"`
	// DiffReasons are the inputs that change; ReplaceReasons those that force the replacement
	// ("provider" when the resource moves to a replaced provider).
	DiffReasons    []string `json:"diffReasons,omitempty"`
	ReplaceReasons []string `json:"replaceReasons,omitempty"`
	// DetailedDiff is each changed property path ("rules[0].filter.prefix"), as Pulumi reports
	// it, with the values before and after (added to Pulumi's shape).
	DetailedDiff map[string]PropertyDiff `json:"detailedDiff,omitempty"`
	// DeleteBeforeReplace: the old resource is deleted before its replacement is created.
	DeleteBeforeReplace bool `json:"deleteBeforeReplace,omitempty"`
	// Protected: the stack protects the resource, so "pulumi up" stops before replacing or
	// deleting it (added).
	Protected bool `json:"protected,omitempty"`
	// RetainOnDelete: a delete leaves the resource in AWS and only forgets it (added).
	RetainOnDelete bool `json:"retainOnDelete,omitempty"`
	// Keep: the resource holds data or what data lives in (schema Keep) (added).
	Keep bool `json:"keep,omitempty"`
	// Deferred are the changed inputs AWS applies at the next maintenance window, since the
	// resource does not apply changes immediately (added).
	Deferred []string `json:"deferred,omitempty"`
	// Notes say what a change does beyond changing the input (added).
	Notes []string `json:"notes,omitempty"`
}

// PropertyDiff is one changed property: kind is add, delete or update, with "-replace" when
// the change forces a replacement (Pulumi's kinds); Old and New are the values (added), an
// unknown one as plan.UnknownPrefix and the URN it comes from.
type PropertyDiff struct {
	Kind      string `json:"kind"`
	InputDiff bool   `json:"inputDiff"`
	Old       any    `json:"old,omitempty"`
	New       any    `json:"new,omitempty"`
}

// Compute is what "pulumi up" does to a stack that holds before when the program plans after.
func Compute(before, after *plan.Plan) *Preview {
	c := &computation{
		deployed: before.Deployed,
		before:   map[string]*plan.PlanResource{},
		matched:  map[string]bool{},
		unknown:  map[string][]string{},
		subst:    map[string][][2]string{},
		steps:    map[string]*Step{},
	}
	for _, r := range before.Resources {
		c.before[r.URN] = r
	}
	for _, a := range dependencyOrder(after) {
		c.step(a)
	}
	p := &Preview{Project: after.Project, Stack: after.Stack, ChangeSummary: map[string]int{}}
	for _, a := range after.Resources {
		p.Steps = append(p.Steps, c.steps[a.URN])
	}
	for _, b := range before.Resources {
		if c.matched[b.URN] {
			continue
		}
		p.Steps = append(p.Steps, &Step{
			Op: OpDelete, URN: b.URN, Type: b.Type, Name: b.Name, Provider: b.Provider,
			Protected: b.Protect, RetainOnDelete: b.RetainOnDelete, Keep: keep(b),
		})
	}
	for _, s := range p.Steps {
		p.ChangeSummary[s.Op]++
	}
	return p
}

// computation is the state of one Compute: the resources the stack holds, by URN, and what
// the steps so far have decided about values that later resources read.
type computation struct {
	// deployed is true when the stack's values are AWS's (a stack export), not the engine's.
	deployed bool
	before   map[string]*plan.PlanResource
	matched  map[string]bool
	// unknown are, by the URN of a created or replaced resource, the values AWS assigns it
	// anew (its id, ARN, generated name), unknown until the update.
	unknown map[string][]string
	// subst are, by the URN of a kept resource, its values in the new plan and the values the
	// stack holds for them (the engine keeps a resource's outputs when it does not replace it).
	subst map[string][][2]string
	steps map[string]*Step
}

// step decides what happens to one resource of the new plan.
func (c *computation) step(a *plan.PlanResource) {
	s := &Step{Type: a.Type, Name: a.Name, URN: a.URN, Provider: a.Provider, Keep: keep(a)}
	c.steps[a.URN] = s
	b := c.match(a)
	inputs, _ := c.resolve(a, a.Inputs).(map[string]any)
	if b == nil {
		s.Op = OpCreate
		c.unknown[a.URN] = assigned(a)
		return
	}
	if b.URN != a.URN {
		s.OldURN = b.URN
	}
	typ, known := schema.Lookup(a.Type)
	if !known {
		typ = &schema.Type{}
	}
	changes := diff(b.Inputs, inputs, a.IgnoreChanges)
	replaceKeys := map[string]bool{}
	for _, ch := range changes {
		key := ch.top()
		if a.Custom && replaces(typ, key, ch, b.Inputs, inputs) {
			replaceKeys[key] = true
			ch.kind += "-replace"
		}
		if s.DetailedDiff == nil {
			s.DetailedDiff = map[string]PropertyDiff{}
		}
		s.DetailedDiff[ch.pulumiPath()] = PropertyDiff{Kind: ch.kind, InputDiff: true, Old: ch.old, New: ch.new}
		if !slices.Contains(s.DiffReasons, key) {
			s.DiffReasons = append(s.DiffReasons, key)
		}
	}
	if a.Custom && c.providerReplaced(a, b) {
		replaceKeys["provider"] = true
	}
	for key := range replaceKeys {
		s.ReplaceReasons = append(s.ReplaceReasons, key)
	}
	sort.Strings(s.DiffReasons)
	sort.Strings(s.ReplaceReasons)
	switch {
	case len(s.ReplaceReasons) > 0:
		s.Op = OpReplace
		s.DeleteBeforeReplace = deleteBeforeReplace(a, typ)
		s.Protected = b.Protect
		s.RetainOnDelete = b.RetainOnDelete
		c.unknown[a.URN] = assigned(a)
	case len(s.DiffReasons) > 0:
		s.Op = OpUpdate
		s.Deferred = deferred(typ, a, b.Inputs, inputs, s.DiffReasons)
		c.keepOutputs(a, b)
	default:
		s.Op = OpSame
		c.keepOutputs(a, b)
	}
	for _, key := range s.DiffReasons {
		if note := typ.Notes[key]; note != "" {
			s.Notes = append(s.Notes, key+": "+note)
		}
	}
}

// match is the resource the stack holds under the URN or one of the aliases, once.
func (c *computation) match(a *plan.PlanResource) *plan.PlanResource {
	for _, urn := range append([]string{a.URN}, a.Aliases...) {
		if b := c.before[urn]; b != nil && !c.matched[urn] {
			c.matched[urn] = true
			return b
		}
	}
	return nil
}

// providerReplaced is true when the resource moves to another provider than the one the stack
// holds it under, or its provider is replaced (a region changes): the engine replaces it.
func (c *computation) providerReplaced(a, b *plan.PlanResource) bool {
	if a.Provider == "" && b.Provider == "" {
		return false
	}
	urn := plan.ProviderURN(a.Provider)
	if s := c.steps[urn]; s != nil {
		if s.Op == OpReplace || s.Op == OpCreate {
			return true
		}
		old := urn
		if s.OldURN != "" {
			old = s.OldURN
		}
		return old != plan.ProviderURN(b.Provider)
	}
	return urn != plan.ProviderURN(b.Provider)
}

// keepOutputs records that the resource keeps the values the stack holds for what AWS
// assigned it: later resources that read them read those. Between two plans of the engine,
// whose made-up values derive from the URN, only a resource that moved (an alias) has other
// ones; a value computed from an input that changed (an ARN that holds a renamed identifier)
// changes in AWS too, and later resources see it change.
func (c *computation) keepOutputs(a, b *plan.PlanResource) {
	if !c.deployed && a.URN == b.URN {
		return
	}
	var pairs [][2]string
	if a.ID != "" && b.ID != "" && a.ID != b.ID {
		pairs = append(pairs, [2]string{a.ID, b.ID})
	}
	for key, v := range a.Outputs {
		if _, input := a.Inputs[key]; input {
			continue
		}
		now, ok1 := v.(string)
		then, ok2 := b.Outputs[key].(string)
		if ok1 && ok2 && now != then && len(now) >= minToken {
			pairs = append(pairs, [2]string{now, then})
		}
	}
	// The longest first, so that an ARN is replaced before the id it contains.
	sort.Slice(pairs, func(i, j int) bool { return len(pairs[i][0]) > len(pairs[j][0]) })
	c.subst[a.URN] = pairs
}

// minToken is the shortest value taken for something AWS assigns: shorter ones ("vpc",
// "true") appear in inputs by coincidence. A value is found inside another (an ARN inside a
// policy) only from minEmbedded characters on; a shorter one must be the whole value.
const (
	minToken    = 8
	minEmbedded = 16
)

// assigned are the values AWS assigns a resource it creates: its id and the outputs that are
// not its inputs (an id that is one of its inputs, as a task definition's family, is not),
// long enough to be told apart.
func assigned(a *plan.PlanResource) []string {
	given := map[string]bool{}
	for _, v := range leaves(a.Inputs) {
		given[v] = true
	}
	var out []string
	add := func(s string) {
		if len(s) >= minToken && !given[s] && s != plan.SecretPlaceholder && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	add(a.ID)
	for key, v := range a.Outputs {
		if _, input := a.Inputs[key]; input {
			continue
		}
		if s, ok := v.(string); ok {
			add(s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// leaves are the strings of a value, at any depth.
func leaves(v any) []string {
	switch x := v.(type) {
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, leaves(e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, leaves(e)...)
		}
		return out
	case string:
		return []string{x}
	}
	return nil
}

// contains is true when s is token, or holds it and it is long enough to be told apart.
func contains(s, token string) bool {
	return s == token || (len(token) >= minEmbedded && strings.Contains(s, token))
}

// resolve rewrites a value of the new plan as the engine would see it during the update: a
// value that contains something a created or replaced resource it depends on will be assigned
// is unknown (plan.UnknownPrefix and that resource's URN); a value of a kept resource is the
// one the stack holds.
func (c *computation) resolve(a *plan.PlanResource, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = c.resolve(a, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.resolve(a, e)
		}
		return out
	case string:
		for _, dep := range a.DependsOn {
			for _, token := range c.unknown[dep] {
				if contains(x, token) {
					return plan.UnknownPrefix + dep
				}
			}
		}
		for _, dep := range a.DependsOn {
			for _, pair := range c.subst[dep] {
				if len(pair[0]) >= minEmbedded {
					x = strings.ReplaceAll(x, pair[0], pair[1])
				} else if x == pair[0] {
					x = pair[1]
				}
			}
		}
		return x
	}
	return v
}

// replaces is true when the change of an input replaces a resource of the type: an unknown
// value counts as a change of the whole input (the provider plans a replacement when a
// replacing input is unknown).
func replaces(typ *schema.Type, key string, ch *propertyChange, before, after map[string]any) bool {
	if typ.ReplacesWhen[key] != nil {
		return typ.Decides(key, schema.Change{From: before[key], To: after[key], After: after})
	}
	return typ.ReplacedBy(ch.schemaPath())
}

// deleteBeforeReplace is whether the engine deletes the old resource first: as the program
// says when it says, else as the provider does.
func deleteBeforeReplace(a *plan.PlanResource, typ *schema.Type) bool {
	if a.DeleteBeforeReplaceDefined || a.DeleteBeforeReplace {
		return a.DeleteBeforeReplace
	}
	if typ.DeleteBeforeReplace {
		return true
	}
	_, named := a.Inputs[typ.Autonamed]
	return typ.Autonamed != "" && named
}

// deferred are the changed inputs AWS applies at the next maintenance window.
func deferred(typ *schema.Type, a *plan.PlanResource, before, after map[string]any, changed []string) []string {
	if now, _ := a.Inputs["applyImmediately"].(bool); now {
		return nil
	}
	var out []string
	for _, key := range changed {
		if typ.Defers(key, schema.Change{From: before[key], To: after[key], After: after}) {
			out = append(out, key)
		}
	}
	return out
}

// keep is true for a resource that holds data or what data lives in.
func keep(r *plan.PlanResource) bool {
	typ, ok := schema.Lookup(r.Type)
	return ok && typ.Keep
}

// dependencyOrder is the new plan's resources, each after what it depends on, its parent and
// its provider, otherwise in plan order.
func dependencyOrder(p *plan.Plan) []*plan.PlanResource {
	byURN := map[string]*plan.PlanResource{}
	for _, r := range p.Resources {
		byURN[r.URN] = r
	}
	done := map[string]bool{}
	var out []*plan.PlanResource
	var visit func(r *plan.PlanResource)
	visit = func(r *plan.PlanResource) {
		if done[r.URN] {
			return
		}
		done[r.URN] = true
		for _, dep := range append([]string{r.Parent, plan.ProviderURN(r.Provider)}, r.DependsOn...) {
			if d := byURN[dep]; d != nil {
				visit(d)
			}
		}
		out = append(out, r)
	}
	for _, r := range p.Resources {
		visit(r)
	}
	return out
}
