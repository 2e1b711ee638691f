package adopt

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"coldchain/internal/offline"
	"coldchain/internal/plan"
	"coldchain/internal/schema"
	"coldchain/internal/tfstate"
)

// resource is one of the program's planned resources as adopt sees it.
type resource struct {
	*offline.PlanResource
	rule *rule
	// schema is what a change of the type does (which inputs replace it, whether it must be
	// kept); never nil.
	schema *schema.Type
	// leaves are its inputs flattened to paths ("loadBalancers.*.targetGroupArn").
	leaves []leaf
	// match is the Terraform instance it adopts, and how is how it was found.
	match *tfstate.Resource
	how   string
	// elsewhere is the region of a resource its provider creates in another region than the
	// stack's (the DR region's copies): a Terraform state is of one region, so it is never
	// adopted, though its name may be a Terraform resource's (a repository's replica).
	elsewhere string
}

// leaf is one scalar of an input: a string, a float64, a bool or nil.
type leaf struct {
	path  string
	value any
}

// ref is a planned value that is another resource's output (an id, an ARN, a generated name).
type ref struct {
	to  *resource
	key string
}

// matcher pairs the program's resources with Terraform's instances.
type matcher struct {
	ours   []*resource
	byURN  map[string]*resource
	refs   map[string]ref
	theirs []*tfstate.Resource
	// taken maps each matched Terraform instance to the resource that adopts it.
	taken map[*tfstate.Resource]*resource
	// refValues are the keys of refs, longest first, so that a value that contains another
	// (an ARN and its suffix) is replaced whole.
	refValues []string
	// byValue finds Terraform instances by the values other instances refer to them by.
	byValue map[string][]*tfstate.Resource
	// inline are instances that are part of another one (a route table's inline route, a
	// security group's inline rule); noID are those whose import id Terraform does not keep.
	inline map[*tfstate.Resource]string
	noID   map[*tfstate.Resource]bool
}

// notReferences are computed outputs that are not how other resources refer to one.
var notReferences = map[string]bool{
	"domain": true, "connectivityType": true, "revision": true, "status": true, "pendingConfirmation": true,
	"engineVersionActual": true, "owner": true, "ownerId": true, "registryId": true,
}

// newMatcher indexes a plan's resources and a state's instances.
func newMatcher(plan *offline.Plan, region string, theirs []*tfstate.Resource, inline map[*tfstate.Resource]string, noID map[*tfstate.Resource]bool) *matcher {
	m := &matcher{byURN: map[string]*resource{}, refs: map[string]ref{}, theirs: theirs,
		taken: map[*tfstate.Resource]*resource{}, byValue: map[string][]*tfstate.Resource{}, inline: inline, noID: noID}
	for _, r := range plan.Resources {
		res := &resource{PlanResource: r, rule: rules[r.Type], schema: typeSchema(r.Type)}
		flatten("", r.Inputs, &res.leaves)
		m.ours = append(m.ours, res)
		m.byURN[r.URN] = res
		if !r.Custom {
			continue
		}
		// A resource's id refers to it unless the id is one of its own inputs (a bucket's
		// name, a topic policy's topic): those are literal names, compared as they are.
		echoes := map[string]bool{}
		for _, l := range res.leaves {
			echoes[scalar(l.value)] = true
		}
		if _, seen := m.refs[r.ID]; r.ID != "" && !echoes[r.ID] && !seen {
			m.refs[r.ID] = ref{res, "id"}
		}
		for _, key := range slices.Sorted(maps.Keys(r.Outputs)) {
			s, ok := r.Outputs[key].(string)
			if _, input := r.Inputs[key]; !ok || input || echoes[s] || notReferences[key] || accountID.MatchString(s) || len(s) < 6 {
				continue
			}
			if _, seen := m.refs[s]; !seen {
				m.refs[s] = ref{res, key}
			}
		}
		// Strings inside a list of objects refer to it too: a certificate's validation
		// record is named by its domainValidationOptions.
		for _, key := range slices.Sorted(maps.Keys(r.Outputs)) {
			for _, l := range nestedOutputs(key, r.Outputs[key]) {
				s, _ := l.value.(string)
				if _, seen := m.refs[s]; len(s) >= 6 && !echoes[s] && !seen {
					m.refs[s] = ref{res, l.path}
				}
			}
		}
	}
	for _, r := range m.ours {
		if where := regionOf(r.PlanResource, m.byURN); where != "" && where != region {
			r.elsewhere = where
		}
	}
	for v := range m.refs {
		m.refValues = append(m.refValues, v)
	}
	sort.Slice(m.refValues, func(i, j int) bool {
		if len(m.refValues[i]) != len(m.refValues[j]) {
			return len(m.refValues[i]) > len(m.refValues[j])
		}
		return m.refValues[i] < m.refValues[j]
	})
	for _, t := range theirs {
		for _, key := range []string{"id", "arn", "name", "bucket", "key_id", "arn_suffix", "identifier", "replication_group_id"} {
			if v := t.String(key); v != "" && !slices.Contains(m.byValue[v], t) {
				m.byValue[v] = append(m.byValue[v], t)
			}
		}
	}
	return m
}

// flatten turns a plain JSON value into leaves; list elements get the path element "*".
func flatten(path string, v any, out *[]leaf) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			flatten(joinPath(path, k), x[k], out)
		}
	case []any:
		if len(x) == 0 {
			*out = append(*out, leaf{path, nil})
		}
		for _, e := range x {
			flatten(joinPath(path, "*"), e, out)
		}
	default:
		*out = append(*out, leaf{path, x})
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// run matches until nothing more can be: first by identity and references, then, where that
// finds nothing, the only resource of a type on each side, then a resource whose logical name
// Terraform's name contains.
func (m *matcher) run() {
	for {
		if m.pass(m.byEvidence) || m.pass(m.onlyOfType) || m.pass(m.byName) || m.pass(m.byDocument) {
			continue
		}
		return
	}
}

// pass tries a way of matching on every unmatched resource, in plan order, and reports
// whether it matched any.
func (m *matcher) pass(try func(*resource) (*tfstate.Resource, string)) bool {
	progress := false
	for _, r := range m.ours {
		if r.match != nil || r.rule == nil || !r.Custom {
			continue
		}
		if t, how := try(r); t != nil {
			r.match, r.how = t, how
			m.taken[t] = r
			progress = true
		}
	}
	return progress
}

// regionOf is the region a resource's explicit provider creates it in, "" when the provider
// does not say.
func regionOf(r *offline.PlanResource, byURN map[string]*resource) string {
	if p := byURN[plan.ProviderURN(r.Provider)]; p != nil && r.Provider != "" {
		region, _ := p.Inputs["region"].(string)
		return region
	}
	return ""
}

// candidates are the unmatched Terraform instances of a resource's type.
func (m *matcher) candidates(r *resource) []*tfstate.Resource {
	if r.elsewhere != "" {
		return nil
	}
	var out []*tfstate.Resource
	for _, t := range m.theirs {
		if m.taken[t] == nil && slices.Contains(r.rule.terraform, t.Type) {
			out = append(out, t)
		}
	}
	return out
}

// byEvidence matches a resource with the one candidate that agrees with it on identity (the
// names and numbers that tell resources apart) and on every reference between matched
// resources, in both directions, when at least one of those says something.
func (m *matcher) byEvidence(r *resource) (*tfstate.Resource, string) {
	var found *tfstate.Resource
	var how string
	for _, t := range m.candidates(r) {
		ok, evidence := m.agrees(r, t, true)
		if !ok || evidence == "" {
			continue
		}
		if found != nil {
			return nil, "" // ambiguous: leave it to a later pass
		}
		found, how = t, evidence
	}
	return found, how
}

// agrees checks a candidate against a resource, on identity unless told not to (where names
// are expected to differ); evidence names what tied them, "" if nothing did.
func (m *matcher) agrees(r *resource, t *tfstate.Resource, identity bool) (ok bool, evidence string) {
	var tied []string
	for _, path := range append(slices.Clone(r.rule.needs), r.rule.within...) {
		for _, l := range r.leaves {
			if l.path != path {
				continue
			}
			if rf, isRef := m.refOf(l.value, r); isRef && rf.to.match == nil {
				return false, "" // not yet: what places it is not paired
			}
		}
	}
	for _, path := range r.rule.identity {
		if !identity {
			break
		}
		ours, known := m.expected(r, path)
		if !known || len(ours) == 0 {
			continue
		}
		if !m.equalValues(r, path, ours, tfValues(t.Attributes, path, r.rule)) {
			return false, ""
		}
		tied = append(tied, path)
	}
	for _, l := range r.leaves {
		rf, isRef := m.refOf(l.value, r)
		if !isRef || rf.to.match == nil {
			continue
		}
		want := m.theirValue(rf)
		if !slices.ContainsFunc(tfValues(t.Attributes, l.path, r.rule), func(v string) bool { return m.same(r, l.path)(want, v) }) {
			return false, ""
		}
		if !slices.Contains(r.rule.within, l.path) {
			tied = append(tied, l.path+" → "+rf.to.Name)
		}
	}
	// Incoming: a matched resource that refers to this one must refer to the candidate.
	for _, p := range m.ours {
		if p.match == nil {
			continue
		}
		for _, l := range p.leaves {
			rf, isRef := m.refOf(l.value, p)
			if !isRef || rf.to != r {
				continue
			}
			vals := tfValues(p.match.Attributes, l.path, p.rule)
			if len(vals) == 0 {
				continue
			}
			if !m.refersTo(vals, t) {
				if singular(vals) {
					return false, ""
				}
				continue
			}
			tied = append(tied, p.Name+"."+l.path)
		}
	}
	if r.rule.accept != nil && !r.rule.accept(m, r, t) {
		return false, ""
	}
	if len(tied) == 0 {
		return true, ""
	}
	return true, "by " + strings.Join(dedupe(tied), ", ")
}

// singular is true when a reference is to exactly one thing, so that a mismatch rules the
// candidate out (a list of several may name it among others).
func singular(vals []string) bool { return len(vals) == 1 }

// refersTo is true when one of the values is the instance's id, ARN or name.
func (m *matcher) refersTo(vals []string, t *tfstate.Resource) bool {
	for _, v := range vals {
		if slices.Contains(m.byValue[v], t) {
			return true
		}
	}
	return false
}

// onlyOfType matches the one resource of a type the program declares once (rule.single) with
// the one instance of the type Terraform has, whatever their names: the differences are then
// changes, which name what to set to keep what exists.
func (m *matcher) onlyOfType(r *resource) (*tfstate.Resource, string) {
	if !r.rule.single {
		return nil, ""
	}
	count := 0
	for _, o := range m.ours {
		if o.Type == r.Type && o.Custom {
			count++
		}
	}
	var all []*tfstate.Resource
	for _, t := range m.theirs {
		if slices.Contains(r.rule.terraform, t.Type) && m.inline[t] == "" {
			all = append(all, t)
		}
	}
	if count != 1 || len(all) != 1 || m.taken[all[0]] != nil {
		return nil, ""
	}
	if ok, _ := m.agrees(r, all[0], false); !ok {
		return nil, ""
	}
	return all[0], "the only " + r.rule.terraform[0] + " on either side"
}

// accountID is an account id, which outputs (an owner) repeat but nothing refers to by it.
var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// nameToken splits names into their words.
var nameToken = regexp.MustCompile(`[a-z0-9]+`)

// byName matches a resource that must be kept (schema Keep), or whose Terraform instance the
// migration must not leave behind (a service, a load balancer: not safe to leave), with the one
// candidate whose name in AWS contains every word of the resource's logical name ("backend" in
// "coldchain-backend"), when no other unmatched resource of the type would claim it.
func (m *matcher) byName(r *resource) (*tfstate.Resource, string) {
	if !r.schema.Keep && slices.ContainsFunc(r.rule.terraform, func(t string) bool { return safeToLeave[t] }) {
		// Only what must be kept or must not be left is worth pairing under another name: the
		// report then names the config that keeps the name. Anything else of another name is
		// another resource, which the stack's replaces.
		return nil, ""
	}
	words := nameToken.FindAllString(strings.ToLower(r.Name), -1)
	claims := func(words []string, t *tfstate.Resource) bool {
		have := nameToken.FindAllString(strings.ToLower(m.theirName(r, t)), -1)
		for _, w := range words {
			if !slices.Contains(have, w) {
				return false
			}
		}
		return len(words) > 0
	}
	var found *tfstate.Resource
	for _, t := range m.candidates(r) {
		if m.inline[t] != "" || !claims(words, t) {
			continue
		}
		if ok, _ := m.agrees(r, t, false); !ok {
			continue
		}
		if found != nil {
			return nil, ""
		}
		found = t
	}
	if found == nil {
		return nil, ""
	}
	for _, o := range m.ours {
		if o != r && o.Type == r.Type && o.match == nil && claims(nameToken.FindAllString(strings.ToLower(o.Name), -1), found) {
			return nil, ""
		}
	}
	return found, fmt.Sprintf("by its logical name (%q in %q)", r.Name, m.theirName(r, found))
}

// byDocument matches a resource that a document of an adopted one names (a log group in a task
// definition's container definitions) with the candidate the Terraform instance's document
// names at the same place: its role in the estate, whatever its name. The change of name is
// then a change, for which the report names the config that keeps it.
func (m *matcher) byDocument(r *resource) (*tfstate.Resource, string) {
	if len(r.rule.identity) == 0 {
		return nil, ""
	}
	ours, known := m.expected(r, r.rule.identity[0])
	if !known || len(ours) != 1 {
		return nil, ""
	}
	for _, p := range m.ours {
		if p.match == nil || p == r {
			continue
		}
		for _, l := range p.leaves {
			if t, how := m.namedAt(r, ours[0], p, l); t != nil {
				return t, how
			}
		}
	}
	return nil, ""
}

// namedAt is the candidate for a resource of a name that the Terraform instance of an adopted
// resource names, in the document of one of its inputs, where the program's names it.
func (m *matcher) namedAt(r *resource, name string, p *resource, l leaf) (*tfstate.Resource, string) {
	s, ok := l.value.(string)
	if !ok || !isDocument(s) || !strings.Contains(s, name) {
		return nil, ""
	}
	theirs := tfValues(p.match.Attributes, l.path, p.rule)
	var doc, theirDoc any
	if len(theirs) != 1 || json.Unmarshal([]byte(m.translate(s)), &doc) != nil || json.Unmarshal([]byte(theirs[0]), &theirDoc) != nil {
		return nil, ""
	}
	for _, at := range jsonPaths(doc, name, nil) {
		theirName, ok := jsonAt(doc, theirDoc, at).(string)
		if !ok || theirName == "" {
			continue
		}
		for _, t := range m.candidates(r) {
			same := m.equalValues(r, r.rule.identity[0], []string{theirName}, tfValues(t.Attributes, r.rule.identity[0], r.rule))
			if ok, _ := m.agrees(r, t, false); same && ok {
				return t, fmt.Sprintf("by its role (%s.%s names it)", p.Name, l.path)
			}
		}
	}
	return nil, ""
}

// jsonPaths are the places in a JSON document whose value is a string.
func jsonPaths(v any, s string, at []any) [][]any {
	switch x := v.(type) {
	case map[string]any:
		var out [][]any
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out = append(out, jsonPaths(x[k], s, append(slices.Clone(at), k))...)
		}
		return out
	case []any:
		var out [][]any
		for i, e := range x {
			out = append(out, jsonPaths(e, s, append(slices.Clone(at), i))...)
		}
		return out
	case string:
		if x == s {
			return [][]any{at}
		}
	}
	return nil
}

// jsonAt is the value at the place of one JSON document (ours) in another (theirs), nil where
// it has none. A list of named objects (a task definition's containers) is matched by name, not
// by position: the other side may list them in another order.
func jsonAt(ours, theirs any, at []any) any {
	for _, step := range at {
		switch k := step.(type) {
		case string:
			m, ok := theirs.(map[string]any)
			o, _ := ours.(map[string]any)
			if !ok {
				return nil
			}
			ours, theirs = o[k], m[k]
		case int:
			l, ok := theirs.([]any)
			o, _ := ours.([]any)
			if !ok || k >= len(o) {
				return nil
			}
			ours, theirs = o[k], nil
			om, _ := ours.(map[string]any)
			if named, isNamed := om["name"].(string); isNamed {
				for _, e := range l {
					if m, _ := e.(map[string]any); m != nil && m["name"] == named {
						theirs = e
					}
				}
			} else if k < len(l) {
				theirs = l[k]
			}
		}
	}
	return theirs
}

// theirName is what Terraform calls the instance in AWS: its first identity attribute.
func (m *matcher) theirName(r *resource, t *tfstate.Resource) string {
	if len(r.rule.identity) > 0 {
		return strings.Join(tfValues(t.Attributes, r.rule.identity[0], r.rule), " ")
	}
	return t.String("name")
}

// refOf is the resource a planned value refers to, other than the resource itself.
func (m *matcher) refOf(v any, self *resource) (ref, bool) {
	s, ok := v.(string)
	if !ok {
		return ref{}, false
	}
	rf, ok := m.refs[s]
	if !ok || rf.to == self {
		return ref{}, false
	}
	return rf, true
}

// nestedOutputs are the strings of an output that is a list of objects, at their paths
// ("domainValidationOptions.*.resourceRecordName"); nothing for any other output.
func nestedOutputs(key string, v any) []leaf {
	items, ok := v.([]any)
	if !ok || len(items) == 0 || !isObject(items[0]) {
		return nil
	}
	var leaves []leaf
	flatten(key, items, &leaves)
	return leaves
}

// theirValue is what a reference becomes once its target is adopted: the adopted instance's
// attribute of the same meaning (its id, or its ARN, or the output the reference is).
func (m *matcher) theirValue(rf ref) string {
	t := rf.to.match
	if strings.Contains(rf.key, ".") {
		if vals := tfValues(t.Attributes, rf.key, rf.to.rule); len(vals) > 0 {
			return vals[0]
		}
	}
	if rf.key != "id" {
		if v := t.String(snake(rf.key)); v != "" {
			return v
		}
	}
	return t.String("id")
}

// expected are the values a resource's input has once its references are adopted; known is
// false when one refers to a resource that is still to be created.
func (m *matcher) expected(r *resource, path string) (vals []string, known bool) {
	known = true
	for _, l := range r.leaves {
		if l.path != path {
			continue
		}
		if rf, ok := m.refOf(l.value, r); ok {
			if rf.to.match == nil {
				known = false
				continue
			}
			vals = append(vals, m.theirValue(rf))
			continue
		}
		if l.value != nil {
			vals = append(vals, m.translate(scalar(l.value)))
		}
	}
	return vals, known
}

// translate replaces, inside a planned string, the outputs of adopted resources with what
// they are in AWS: a metric label made of two ARN suffixes, an ARN in a policy document.
// Outputs of resources still to be created stay as the plan has them.
func (m *matcher) translate(s string) string {
	if len(s) < 6 {
		return s
	}
	for _, v := range m.refValues {
		if rf := m.refs[v]; rf.to.match != nil && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, m.theirValue(rf))
		}
	}
	return s
}

// same is the rule's notion of sameness of an input's values, equality where it has none.
func (m *matcher) same(r *resource, path string) func(ours, theirs string) bool {
	if same := r.rule.same[topKey(path)]; same != nil {
		return same
	}
	return func(a, b string) bool { return a == b }
}

// equalValues compares an input's values with Terraform's, as sets, through the rule's own
// notion of sameness where it has one.
func (m *matcher) equalValues(r *resource, path string, ours, theirs []string) bool {
	same := m.same(r, path)
	if len(ours) != len(theirs) {
		return false
	}
	for _, o := range ours {
		if !slices.ContainsFunc(theirs, func(t string) bool { return same(o, t) }) {
			return false
		}
	}
	return true
}

// sameDefaultRoute accepts a route table whose route to 0.0.0.0/0 leads where the program's
// does: to an internet gateway (public), a NAT gateway (private) or nowhere (isolated). A
// table that routes to a NAT gateway is accepted as one that routes nowhere too: the private
// subnets of a two-tier estate, where the database lives, become the isolated tier, and their
// route to the NAT gateway, which the program does not declare, stays until it is removed once
// the tasks have moved (it is Terraform's route to destroy, or an unmanaged inline one). The
// reverse would make the program's route collide with the one the table has.
func sameDefaultRoute(m *matcher, ours *resource, theirs *tfstate.Resource) bool {
	want := "none"
	for _, r := range m.ours {
		if r.Type != "aws:ec2/route:Route" || r.Inputs["destinationCidrBlock"] != "0.0.0.0/0" {
			continue
		}
		if rf, ok := m.refOf(r.Inputs["routeTableId"], r); ok && rf.to == ours {
			want = routeKind(r.Inputs["gatewayId"], r.Inputs["natGatewayId"])
		}
	}
	got := "none"
	for _, t := range m.theirs {
		if t.Type == "aws_route" && t.String("route_table_id") == theirs.String("id") && t.String("destination_cidr_block") == "0.0.0.0/0" {
			got = routeKind(t.Attributes["gateway_id"], t.Attributes["nat_gateway_id"])
		}
	}
	return want == got || want == "none" && got == "nat"
}

// routeKind is where a route leads: "internet", "nat" or "none".
func routeKind(gateway, nat any) string {
	switch {
	case scalar(gateway) != "":
		return "internet"
	case scalar(nat) != "":
		return "nat"
	}
	return "none"
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
