package adopt

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"coldchain/internal/offline"
	"coldchain/internal/plan"
	"coldchain/internal/schema"
	"coldchain/internal/tfstate"
)

// Change is an input that "pulumi up" changes on an adopted resource: what Terraform left
// (From) and what the program declares (To).
type Change struct {
	Input    string
	From, To string
	// Replaces is true when the change replaces the resource rather than updating it.
	Replaces bool
	// Note says what the change does beyond changing the input.
	Note string
}

// changes are the inputs of an adopted resource whose planned value differs from Terraform's.
// A reference to a resource that is still to be created is a change to that new resource. A
// list of objects (lifecycle rules, load balancers) is compared object by object, the tags as
// the provider applies them (its default tags and the resource's own), a document (a policy)
// as JSON.
func (m *matcher) changes(r *resource) []Change {
	var out []Change
	var paths []string
	lists := map[string]bool{}
	for _, l := range r.leaves {
		key := topKey(l.path)
		if items, ok := r.Inputs[key].([]any); ok && len(items) > 0 && isObject(items[0]) {
			lists[key] = true
		}
		if !slices.Contains(paths, l.path) && !lists[key] && key != "tags" {
			paths = append(paths, l.path)
		}
	}
	for _, key := range r.rule.unset {
		if _, set := r.Inputs[key]; !set {
			paths = append(paths, key)
		}
	}
	add := func(c Change) {
		if !slices.Contains(r.IgnoreChanges, topKey(c.Input)) { // the program leaves those as they are
			c.Replaces, c.Note = m.replaces(r, c), r.rule.notes[c.Input]
			out = append(out, c)
		}
	}
	for _, path := range paths {
		ours, secret := m.planned(r, r.leaves, path)
		theirs, found := tfLookup(r.match.Attributes, path, r.rule)
		switch {
		case secret && len(theirs) > 0 && theirs[0] != "":
			// Terraform keeps its secrets in its state in the clear; the program's are
			// generated, so they differ.
			add(Change{Input: path, From: "(Terraform's secret)", To: "(the program's secret)"})
		case secret:
		case !found:
			add(Change{Input: path, From: "(no Terraform attribute)", To: strings.Join(ours, ", ")})
		case len(ours) == 1 && len(theirs) == 1 && isDocument(ours[0]) && isDocument(theirs[0]):
			if where := documentDiff(ours[0], theirs[0]); where != "" {
				add(Change{Input: path, From: "(a document)", To: "(a document that differs at " + where + ")"})
			}
		case !m.sameValues(r, path, ours, theirs):
			add(Change{Input: path, From: strings.Join(theirs, ", "), To: strings.Join(ours, ", ")})
		}
	}
	for _, key := range slices.Sorted(maps.Keys(lists)) {
		if c, changed := m.listChange(r, key); changed {
			add(c)
		}
	}
	return out
}

// planned are the values a resource's input has at a path once its references are adopted,
// and whether it is a secret.
func (m *matcher) planned(r *resource, leaves []leaf, path string) (vals []string, secret bool) {
	for _, l := range leaves {
		if l.path != path {
			continue
		}
		switch rf, ok := m.refOf(l.value, r); {
		case l.value == offline.SecretPlaceholder:
			secret = true
		case ok && rf.to.match == nil:
			vals = append(vals, "(new "+typeName(rf.to.Type)+" "+rf.to.Name+")")
		case ok:
			vals = append(vals, m.theirValue(rf))
		case l.value != nil:
			vals = append(vals, m.translate(scalar(l.value)))
		}
	}
	return vals, secret
}

// listChange compares an input that is a list of objects with Terraform's, object by object:
// each of the program's must have a Terraform object equal on every value it sets.
func (m *matcher) listChange(r *resource, key string) (Change, bool) {
	items := r.Inputs[key].([]any)
	var theirs []map[string]any
	if k, ok := tfKey(r.match.Attributes, key, r.rule.renames); ok {
		theirs = tfstate.Objects(r.match.Attributes[k])
	}
	used := make([]bool, len(theirs))
	var missing []string
	for _, item := range items {
		var leaves []leaf
		flatten("", item, &leaves)
		found := false
		for j, t := range theirs {
			if used[j] || !m.sameObject(r, leaves, t) {
				continue
			}
			used[j], found = true, true
			break
		}
		if !found {
			missing = append(missing, m.describeObject(r, leaves))
		}
	}
	if len(missing) == 0 && len(items) == len(theirs) {
		return Change{}, false
	}
	var paths []string // what the program's objects say, to say the same of Terraform's
	for _, item := range items {
		var leaves []leaf
		flatten("", item, &leaves)
		for _, l := range leaves {
			paths = appendPath(paths, l.path)
		}
	}
	var dropped []string
	for j, t := range theirs {
		if !used[j] {
			dropped = append(dropped, describeTheirs(t, paths))
		}
	}
	to := itemCount(len(items))
	if len(missing) > 0 {
		to += ", Terraform lacks " + strings.Join(missing, "; ")
	}
	if len(dropped) > 0 {
		to += ", the program drops " + strings.Join(dropped, "; ")
	}
	return Change{Input: key, From: itemCount(len(theirs)), To: to}, true
}

func appendPath(paths []string, path string) []string {
	if slices.Contains(paths, path) {
		return paths
	}
	return append(paths, path)
}

// describeTheirs writes a Terraform object that no object of the program's is, by the inputs
// the program's objects set ("{name=shared_preload_libraries value=pg_stat_statements}"), or by
// its own non-empty values when the program sets none.
func describeTheirs(t map[string]any, paths []string) string {
	var parts []string
	if len(paths) == 0 {
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if v := scalar(t[k]); v != "" && !isObject(t[k]) {
				parts = append(parts, k+"="+v)
			}
		}
	}
	for _, path := range paths {
		if vals, found := tfLookup(t, path, nil); found && strings.Join(vals, ",") != "" {
			parts = append(parts, path+"="+strings.Join(vals, ","))
		}
	}
	s := "{" + strings.Join(parts, " ") + "}"
	if len(s) > 160 {
		s = s[:156] + "...}"
	}
	return s
}

// sameObject is true when a Terraform object has every value the program sets in one.
func (m *matcher) sameObject(r *resource, leaves []leaf, theirs map[string]any) bool {
	var paths []string
	for _, l := range leaves {
		if !slices.Contains(paths, l.path) {
			paths = append(paths, l.path)
		}
	}
	for _, path := range paths {
		ours, _ := m.planned(r, leaves, path)
		got, found := tfLookup(theirs, path, nil)
		if !found || !m.sameValues(r, path, ours, got) {
			return false
		}
	}
	return true
}

// describeObject writes one of the program's objects briefly: "{encryptionType=KMS ...}".
func (m *matcher) describeObject(r *resource, leaves []leaf) string {
	var parts []string
	for _, l := range leaves {
		vals, _ := m.planned(r, []leaf{l}, l.path)
		parts = append(parts, l.path+"="+strings.Join(vals, ","))
	}
	s := "{" + strings.Join(parts, " ") + "}"
	if len(s) > 160 {
		s = s[:156] + "...}"
	}
	return s
}

// tagsChange compares the tags the provider puts on a resource (its default tags, then the
// resource's own) with the ones Terraform's provider did (tags_all).
func (m *matcher) tagsChange(r *resource) (Change, bool) {
	all, taggable := r.match.Attributes["tags_all"].(map[string]any)
	if !taggable || slices.Contains(r.IgnoreChanges, "tags") {
		return Change{}, false
	}
	want := map[string]string{}
	if p := m.byURN[plan.ProviderURN(r.Provider)]; p != nil {
		if d, ok := p.Inputs["defaultTags"].(map[string]any); ok {
			for k, v := range mapOf(d["tags"]) {
				want[k] = scalar(v)
			}
		}
	}
	for k, v := range mapOf(r.Inputs["tags"]) {
		want[k] = m.translate(scalar(v))
	}
	have := map[string]string{}
	for k, v := range all {
		have[k] = scalar(v)
	}
	if reflect.DeepEqual(want, have) {
		return Change{}, false
	}
	return Change{Input: "tags", From: describeTags(have), To: describeTags(want)}, true
}

func describeTags(tags map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, " ")
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// replaces is true when the change replaces the resource, as the schema table says, given
// Terraform's value and the program's where the input is a whole attribute (a list, which a
// CustomizeDiff may judge by its length), else the change's text.
func (m *matcher) replaces(r *resource, c Change) bool {
	var from, to any = c.From, c.To
	if k, ok := tfKey(r.match.Attributes, c.Input, r.rule.renames); ok {
		from = r.match.Attributes[k]
	}
	if v, ok := r.Inputs[c.Input]; ok {
		to = v
	}
	return r.schema.Decides(c.Input, schema.Change{From: from, To: to, After: r.Inputs})
}

// sameValues compares an input with Terraform's: as sets, an unset Terraform attribute as the
// zero value, and through the rule's notion of sameness.
func (m *matcher) sameValues(r *resource, path string, ours, theirs []string) bool {
	theirs = slices.DeleteFunc(slices.Clone(theirs), func(v string) bool { return v == "" }) // Terraform's unset strings
	if len(theirs) == 0 {
		for _, o := range ours {
			if o != "" && o != "false" && o != "0" {
				return false
			}
		}
		return true
	}
	return m.equalValues(r, path, ours, theirs)
}

// isDocument is true for a JSON object or array written as a string (a policy, a container
// definition).
func isDocument(s string) bool {
	s = strings.TrimSpace(s)
	return (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Valid([]byte(s))
}

// documentDiff is where two JSON documents first differ ("Statement[1].Action"), "" when they
// are the same. Policies are compared as IAM reads them: a single action, resource or
// principal is the list of one, and the order of statements and of those lists does not
// matter.
func documentDiff(ours, theirs string) string {
	var a, b any
	if json.Unmarshal([]byte(ours), &a) != nil || json.Unmarshal([]byte(theirs), &b) != nil {
		return "the top"
	}
	return firstDifference("", canonical("", a), canonical("", b))
}

// policyLists are the policy elements that take a string or a list of them.
var policyLists = map[string]bool{"Action": true, "NotAction": true, "Resource": true, "NotResource": true,
	"AWS": true, "Service": true, "Federated": true, "Statement": true}

// canonical is a JSON value in the form documentDiff compares.
func canonical(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = canonical(k, e)
		}
		if key == "Statement" {
			return canonical(key, []any{out})
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canonical("", e)
		}
		if policyLists[key] {
			sort.Slice(out, func(i, j int) bool { return jsonText(out[i]) < jsonText(out[j]) })
		}
		return out
	case string:
		if policyLists[key] && key != "Statement" {
			return []any{x}
		}
	}
	return v
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// firstDifference is the path of the first place two canonical values differ.
func firstDifference(path string, a, b any) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return orTop(path)
		}
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range slices.Sorted(maps.Keys(y)) {
			if _, has := x[k]; !has {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			if d := firstDifference(joinPath(path, k), x[k], y[k]); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return orTop(path)
		}
		for i := range x {
			if d := firstDifference(path+"["+strconv.Itoa(i)+"]", x[i], y[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(a, b) {
		return orTop(path)
	}
	return ""
}

func orTop(path string) string {
	if path == "" {
		return "the top"
	}
	return path
}

// tfValues are Terraform's values at an input's path (see tfLookup).
func tfValues(attrs map[string]any, path string, r *rule) []string {
	vals, _ := tfLookup(attrs, path, r)
	return vals
}

// tfLookup finds the values of an input in a Terraform instance's attributes: each input name
// becomes its attribute (snake_case, singular for blocks pulumi made plural, or the rule's
// rename), a block of at most one element that pulumi made an object is looked into, and a
// map's keys are kept as they are. found is false when no attribute is the input.
func tfLookup(attrs map[string]any, path string, r *rule) (vals []string, found bool) {
	segs := strings.Split(path, ".")
	found = true
	// A JSON object is a block's attributes when it is the instance or an element of a list
	// (Terraform writes blocks as lists), and a map attribute's entries (tags, dimensions)
	// otherwise: a key a map lacks is an empty entry, one a block lacks no attribute at all.
	var walk func(v any, i int, block bool)
	walk = func(v any, i int, block bool) {
		if i == len(segs) {
			switch x := v.(type) {
			case []any:
				for _, e := range x {
					walk(e, i, true)
				}
			case map[string]any, nil:
			default:
				vals = append(vals, scalar(x))
			}
			return
		}
		switch x := v.(type) {
		case []any:
			next := i
			if segs[i] == "*" {
				next = i + 1
			}
			for _, e := range x {
				walk(e, next, true)
			}
		case map[string]any:
			if segs[i] == "*" {
				walk(x, i+1, block)
				return
			}
			if !block {
				walk(x[segs[i]], i+1, false)
				return
			}
			var renames map[string]string
			if i == 0 && r != nil {
				renames = r.renames
			}
			key, ok := tfKey(x, segs[i], renames)
			if !ok {
				found = false
				return
			}
			walk(x[key], i+1, false)
		}
	}
	walk(attrs, 0, true)
	return vals, found
}

// tfKey is the attribute of a map that an input name is.
func tfKey(x map[string]any, name string, renames map[string]string) (string, bool) {
	s := snake(name)
	candidates := []string{renames[name], name, s}
	switch {
	case strings.HasSuffix(s, "ies"):
		candidates = append(candidates, strings.TrimSuffix(s, "ies")+"y")
	case strings.HasSuffix(s, "es"):
		candidates = append(candidates, strings.TrimSuffix(s, "es"), strings.TrimSuffix(s, "s"))
	case strings.HasSuffix(s, "s"):
		candidates = append(candidates, strings.TrimSuffix(s, "s"))
	}
	for _, c := range candidates {
		if _, ok := x[c]; ok && c != "" {
			return c, true
		}
	}
	return "", false
}

// snake is the snake_case form of a camelCase input name: "cidrIpv4" is "cidr_ipv4".
func snake(s string) string {
	var b strings.Builder
	for i, c := range s {
		if unicode.IsUpper(c) {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// scalar writes a plain JSON scalar as a string, so that Terraform's "30" and the program's 30
// compare equal.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// topKey is the input a path starts with.
func topKey(path string) string {
	key, _, _ := strings.Cut(path, ".")
	return key
}

// typeName is the last part of a type token: "Instance" for "aws:rds/instance:Instance".
func typeName(typ string) string { return typ[strings.LastIndex(typ, ":")+1:] }

// itemCount counts the items of a list: "1 item", "3 items".
func itemCount(n int) string {
	if n == 1 {
		return "1 item"
	}
	return strconv.Itoa(n) + " items"
}

func isObject(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}
