// Package schema is what the provider's schema says of each pulumi-aws (and pulumi-random)
// resource type the programs here declare, as far as a change goes: which inputs replace the
// resource, whether a replacement deletes the old one first, what AWS defers to a maintenance
// window, and which resources hold data or exist once per parent or per account. It is the one
// table that adopt (pairing a Terraform state) and the change preview (plan --against) read.
//
// Sources: the replacing inputs are the ForceNew (or RequiresReplace) attributes, and the
// CustomizeDiff functions that force a new resource, of terraform-provider-aws v5.100.0, the
// version pulumi-aws v6.83.4 bridges; the delete-before-replace defaults are pulumi-aws's
// resource map (provider/resources.go); autonaming is pulumi-aws's setAutonaming; the deferred
// inputs are the "When the change occurs" column of the RDS User Guide's "Settings for DB
// instances" and ElastiCache's ModifyReplicationGroup documentation.
package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A Type is what a change of one resource type's inputs does.
type Type struct {
	// Replaces are the input paths whose change replaces the resource: dot-separated input
	// names, "*" for any element of a list. A path also covers everything under it.
	Replaces []string
	// ReplacesWhen are inputs whose change replaces the resource only in some cases (a
	// CustomizeDiff of the provider), decided from the change.
	ReplacesWhen map[string]func(c Change) bool
	// DeleteBeforeReplace is pulumi-aws's own default for the type (its resource map).
	DeleteBeforeReplace bool
	// Autonamed is the property pulumi-aws names itself when the program leaves it unset, ""
	// for none. When the program sets it, the bridge deletes the old resource before creating
	// its replacement (nameRequiresDeleteBeforeReplace), unless the program says otherwise.
	Autonamed string
	// Deferred are the inputs whose change AWS applies at the next maintenance window unless
	// the resource's applyImmediately is true.
	Deferred []string
	// DeferredWhen are inputs AWS defers only in some cases, decided from the change.
	DeferredWhen map[string]func(c Change) bool
	// Keep marks what holds data or what data lives in: replacing or deleting it loses
	// something a stack cannot rebuild (data, images, keys, secrets, their copies).
	Keep bool
	// Identity are the inputs that together name a resource in AWS when it is not its
	// autonamed property alone (an ECS service: its cluster and name): a replacement that
	// keeps them all must delete the old resource first.
	Identity []string
	// OnePer is the input naming the one thing the resource exists once for (a bucket's
	// lifecycle, a repository's lifecycle policy): a replacement created first would be undone
	// by the delete of the old one, which AWS keys by that same thing. "" for none.
	OnePer string
	// AccountWide marks a resource that exists once per account and region (the registry's
	// replication) or draws on an account-wide quota (CloudWatch Logs resource policies): one
	// stack of an account owns it.
	AccountWide bool
	// Notes say what a change of an input does beyond changing it.
	Notes map[string]string
}

// A Change is one input's change, for ReplacesWhen: the values before and after (strings,
// numbers, lists, objects as JSON decodes them) and the resource's inputs after the change.
type Change struct {
	From, To any
	After    map[string]any
}

// Lookup returns what the table knows of a type.
func Lookup(typ string) (*Type, bool) {
	t, ok := types[typ]
	return t, ok
}

// Types lists the types of the table, sorted.
func Types() []string {
	out := make([]string, 0, len(types))
	for typ := range types {
		out = append(out, typ)
	}
	slices.Sort(out)
	return out
}

// ReplacedBy is true when a change at path replaces a resource of the type: path is an input
// path in the table's form ("rules.*.filter.prefix"; list indexes may be numbers).
func (t *Type) ReplacedBy(path string) bool {
	segments := strings.Split(path, ".")
	for i, s := range segments {
		if _, err := strconv.Atoi(s); err == nil {
			segments[i] = "*"
		}
	}
	for _, p := range t.Replaces {
		want := strings.Split(p, ".")
		if len(want) <= len(segments) && slices.Equal(want, segments[:len(want)]) {
			return true
		}
	}
	return false
}

// Decides is true when the change of input replaces a resource of the type: by the schema, or
// by a CustomizeDiff given the change.
func (t *Type) Decides(input string, c Change) bool {
	if when := t.ReplacesWhen[topKey(input)]; when != nil {
		return when(c)
	}
	return t.ReplacedBy(input)
}

// Defers is true when AWS applies the change of an input at the next maintenance window
// (unless the resource applies changes immediately).
func (t *Type) Defers(input string, c Change) bool {
	if when := t.DeferredWhen[input]; when != nil {
		return when(c)
	}
	return slices.Contains(t.Deferred, input)
}

// topKey is the input a path starts with.
func topKey(path string) string {
	key, _, _ := strings.Cut(path, ".")
	return key
}

// VersionLater is true when version a is later than b ("7.1" after "7.0", "8.0" after "7.2").
func VersionLater(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}

// str is a value as text, "" for none.
func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// empty is true for no value, an empty string or an empty list.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	}
	return false
}
