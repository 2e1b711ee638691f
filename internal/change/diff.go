package change

import (
	"coldchain/internal/plan"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// propertyChange is one changed property of a resource's inputs: its path (input names and
// list indexes), add, delete or update, and the values.
type propertyChange struct {
	path     []any // string keys, int indexes
	kind     string
	old, new any
}

// top is the input the change is under.
func (c *propertyChange) top() string { return c.path[0].(string) }

// identifier is a key Pulumi writes bare in a property path.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// pulumiPath is the path as Pulumi's detailed diff writes it: "rules[0].filter.prefix", a key
// that is not an identifier quoted ("tags[\"aws:x\"]").
func (c *propertyChange) pulumiPath() string {
	var b strings.Builder
	for i, seg := range c.path {
		switch s := seg.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		case string:
			switch {
			case !identifier.MatchString(s):
				q, _ := json.Marshal(s)
				fmt.Fprintf(&b, "[%s]", q)
			case i > 0:
				b.WriteString("." + s)
			default:
				b.WriteString(s)
			}
		}
	}
	return b.String()
}

// schemaPath is the path in the schema table's form: "rules.0.filter.prefix".
func (c *propertyChange) schemaPath() string {
	parts := make([]string, len(c.path))
	for i, seg := range c.path {
		parts[i] = fmt.Sprint(seg)
	}
	return strings.Join(parts, ".")
}

// diff compares a resource's inputs as the stack holds them with the program's, property by
// property: objects by key, lists by position; a path under one of ignored (Pulumi's
// ignoreChanges paths) is left out.
func diff(before, after map[string]any, ignored []string) []*propertyChange {
	var out []*propertyChange
	var walk func(path []any, old, new any, hasOld, hasNew bool)
	walk = func(path []any, old, new any, hasOld, hasNew bool) {
		if ignoredPath(path, ignored) {
			return
		}
		switch {
		case !hasOld && !hasNew:
			return
		case !hasOld:
			out = append(out, &propertyChange{path: slices.Clone(path), kind: "add", new: new})
			return
		case !hasNew:
			out = append(out, &propertyChange{path: slices.Clone(path), kind: "delete", old: old})
			return
		}
		om, oIsMap := old.(map[string]any)
		nm, nIsMap := new.(map[string]any)
		if oIsMap && nIsMap {
			for _, k := range unionKeys(om, nm) {
				ov, oh := om[k]
				nv, nh := nm[k]
				walk(append(path, k), ov, nv, oh, nh)
			}
			return
		}
		ol, oIsList := old.([]any)
		nl, nIsList := new.([]any)
		if oIsList && nIsList {
			for i := range max(len(ol), len(nl)) {
				var ov, nv any
				if i < len(ol) {
					ov = ol[i]
				}
				if i < len(nl) {
					nv = nl[i]
				}
				walk(append(path, i), ov, nv, i < len(ol), i < len(nl))
			}
			return
		}
		if !equal(old, new) {
			out = append(out, &propertyChange{path: slices.Clone(path), kind: "update", old: old, new: new})
		}
	}
	for _, k := range unionKeys(before, after) {
		if strings.HasPrefix(k, "__") {
			continue
		}
		ov, oh := before[k]
		nv, nh := after[k]
		walk([]any{k}, ov, nv, oh, nh)
	}
	return out
}

// equal compares two scalars as JSON decodes them; nil is also an absent value.
func equal(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return fmt.Sprint(a) == fmt.Sprint(b) && (a == nil) == (b == nil)
}

// number is a numeric value as a float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// ignoredPath is true when path is, or is under, one of Pulumi's ignoreChanges paths
// ("description", "tags.Name", "rules[0]", "rules[*].id").
func ignoredPath(path []any, ignored []string) bool {
	for _, ig := range ignored {
		want := splitPulumiPath(ig)
		if len(want) > len(path) {
			continue
		}
		match := true
		for i, w := range want {
			if w != "*" && w != fmt.Sprint(path[i]) {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// splitPulumiPath splits "rules[0].filter" into "rules", "0", "filter".
func splitPulumiPath(p string) []string {
	p = strings.NewReplacer("[", ".", "]", "", `"`, "").Replace(p)
	var out []string
	for _, s := range strings.Split(p, ".") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// unionKeys are the keys of two objects, sorted.
func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// documentChanges are the paths inside two JSON documents (a policy, container definitions)
// where they differ, with the values, for a reviewer: "[0].image: "x:1" -> "x:2"". Nil when
// either is not a JSON object or list.
func documentChanges(old, new any) []string {
	os, ok1 := old.(string)
	ns, ok2 := new.(string)
	if !ok1 || !ok2 {
		return nil
	}
	var ov, nv any
	if json.Unmarshal([]byte(os), &ov) != nil || json.Unmarshal([]byte(ns), &nv) != nil {
		return nil
	}
	switch ov.(type) {
	case map[string]any, []any:
	default:
		return nil
	}
	var out []string
	for _, c := range diff(map[string]any{"": ov}, map[string]any{"": nv}, nil) {
		c.path = c.path[1:]
		path := c.pulumiPath()
		if len(c.path) > 0 {
			if _, isIndex := c.path[0].(int); !isIndex {
				path = "." + path
			}
		}
		out = append(out, path+": "+show(c.old, c.kind == "add")+" -> "+show(c.new, c.kind == "delete"))
	}
	return out
}

// show renders a value for a reviewer: JSON, long strings shortened; "-" for none.
func show(v any, none bool) string {
	if none {
		return "-"
	}
	if s, ok := v.(string); ok {
		if plan.IsUnknown(s) {
			return "(known after the update)"
		}
		if len(s) > 100 {
			s = s[:60] + "…" + s[len(s)-30:]
		}
		return strconv.Quote(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 100 {
		return string(b[:60]) + "…" + string(b[len(b)-30:])
	}
	return string(b)
}
