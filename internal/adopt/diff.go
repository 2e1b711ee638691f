package adopt

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"coldchain/internal/offline"
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
// A reference to a resource that is still to be created is a change to that new resource.
func (m *matcher) changes(r *resource) []Change {
	var out []Change
	var paths []string
	for _, l := range r.leaves {
		if !slices.Contains(paths, l.path) {
			paths = append(paths, l.path)
		}
	}
	for _, key := range r.rule.unset {
		if _, set := r.Inputs[key]; !set {
			paths = append(paths, key)
		}
	}
	for _, path := range paths {
		if slices.Contains(r.IgnoreChanges, topKey(path)) {
			continue // the program leaves it as it is
		}
		var ours []string
		secret := false
		for _, l := range r.leaves {
			if l.path != path {
				continue
			}
			if l.value == offline.SecretPlaceholder {
				secret = true
			}
			if rf, ok := m.refOf(l.value, r); ok {
				if rf.to.match == nil {
					ours = append(ours, "(new "+typeName(rf.to.Type)+" "+rf.to.Name+")")
				} else {
					ours = append(ours, m.theirValue(rf))
				}
			} else if l.value != nil {
				ours = append(ours, scalar(l.value))
			}
		}
		if secret {
			continue // not in the state in the clear: "pulumi up" sets it
		}
		theirs, found := tfLookup(r.match.Attributes, path, r.rule)
		if found && m.sameValues(r, path, ours, theirs) {
			continue
		}
		from := strings.Join(theirs, ", ")
		if !found {
			from = "(no Terraform attribute)"
		}
		to := strings.Join(ours, ", ")
		if isDocument(to) || isDocument(from) {
			from, to = "(a document)", "(another document)"
		}
		out = append(out, Change{Input: path, From: from, To: to, Replaces: m.replaces(r, path), Note: r.rule.notes[path]})
	}
	return out
}

// summarizeLists turns the changes inside an input that is a list of objects (lifecycle rules,
// log deliveries) into one change of the list: element by element, leaf values compared as
// sets say little.
func summarizeLists(r *resource, changes []Change) []Change {
	var out []Change
	done := map[string]bool{}
	for _, c := range changes {
		key := topKey(c.Input)
		items, isList := r.Inputs[key].([]any)
		if !isList || len(items) == 0 || !isObject(items[0]) {
			out = append(out, c)
			continue
		}
		if done[key] {
			if c.Replaces {
				for i := range out {
					if out[i].Input == key {
						out[i].Replaces = true
					}
				}
			}
			continue
		}
		done[key] = true
		theirs := 0
		if k, ok := tfKey(r.match.Attributes, key, r.rule.renames); ok {
			list, _ := r.match.Attributes[k].([]any)
			theirs = len(list)
		}
		to := itemCount(len(items))
		if theirs == len(items) {
			to += ", changed"
		}
		out = append(out, Change{Input: key, From: itemCount(theirs), To: to, Replaces: c.Replaces})
	}
	return out
}

// items_ counts the items of a list: "1 item", "3 items".
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

// replaces is true when a change of the input replaces the resource.
func (m *matcher) replaces(r *resource, path string) bool {
	return slices.Contains(r.rule.replaces, path) || slices.Contains(r.rule.replaces, topKey(path))
}

// sameValues compares an input with Terraform's value: as sets, documents as JSON, an unset
// Terraform attribute as the zero value, and through the rule's notion of sameness.
func (m *matcher) sameValues(r *resource, path string, ours, theirs []string) bool {
	if len(ours) == 1 && len(theirs) == 1 && isDocument(ours[0]) && isDocument(theirs[0]) {
		return sameDocument(ours[0], theirs[0])
	}
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

// sameDocument compares two JSON documents as values.
func sameDocument(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
