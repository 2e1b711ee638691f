package main

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// encryptedPlaceholder is the value an encrypted (secure:) config value has where it cannot be
// decrypted: in the offline plan, whose stack-file reader gives every one this value
// (offline.SecretPlaceholder; a test keeps the two equal). "pulumi up" passes the real value.
const encryptedPlaceholder = "[secret]"

// configReader reads typed values from the raw config map, remembers which keys the program
// knows, and collects every type error instead of stopping at the first.
type configReader struct {
	namespace string
	raw       map[string]string
	known     map[string]bool
	problems  []Problem
	// secret holds the keys whose value is encrypted (secure:) and so unknown to the offline
	// plan: they read as their default (or "[secret]" where there is none) and are not
	// validated; "pulumi up" reads and validates their real values.
	secret map[string]bool
	// defaults are the scalar keys' defaults as config would write them, for the docs' table.
	defaults map[string]string
}

// remember records a key's default.
func (r *configReader) remember(key, def string) {
	if r.defaults == nil {
		r.defaults = map[string]string{}
	}
	r.defaults[r.shortKey(r.fullKey(key))] = def
}

// fullKey gives a bare key the project's namespace, as "pulumi config set" does.
func (r *configReader) fullKey(key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return r.namespace + ":" + key
}

func (r *configReader) lookup(key string) (string, bool) {
	full := r.fullKey(key)
	r.known[full] = true
	v, ok := r.raw[full]
	if ok && v == encryptedPlaceholder {
		if r.secret == nil {
			r.secret = map[string]bool{}
		}
		r.secret[r.shortKey(full)] = true
		return "", false
	}
	return v, ok
}

func (r *configReader) fail(key, value, allowed string) {
	r.problems = append(r.problems, Problem{Key: r.shortKey(r.fullKey(key)), Value: value, Allowed: allowed})
}

func (r *configReader) str(key, def string) string {
	r.remember(key, def)
	v, ok := r.lookup(key)
	switch {
	case ok:
		return v
	case def == "" && r.secret[r.shortKey(r.fullKey(key))]:
		return encryptedPlaceholder
	}
	return def
}

// parsed reads a key with parse, and reports a value that does not parse as a problem that
// says what is allowed; the default stands in for it so validation sees a valid value.
func parsed[T any](r *configReader, key string, def T, allowed string, parse func(string) (T, error)) T {
	r.remember(key, fmt.Sprint(def))
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	out, err := parse(strings.TrimSpace(v))
	if err != nil {
		r.fail(key, v, allowed)
		return def
	}
	return out
}

func (r *configReader) integer(key string, def int) int {
	return parsed(r, key, def, "a whole number", strconv.Atoi)
}

func (r *configReader) number(key string, def float64) float64 {
	return parsed(r, key, def, "a number", func(s string) (float64, error) {
		f, err := strconv.ParseFloat(s, 64)
		if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			err = fmt.Errorf("%s is not a finite number", s)
		}
		return f, err
	})
}

func (r *configReader) boolean(key string, def bool) bool {
	return parsed(r, key, def, "true or false", strconv.ParseBool)
}

// list accepts a JSON list of strings (what a YAML list becomes) or a comma-separated string
// (what "pulumi config set key a,b" stores).
func (r *configReader) list(key string, def []string) []string {
	if def != nil {
		b, _ := json.Marshal(def)
		r.remember(key, string(b))
	}
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	var items []string
	if strings.HasPrefix(strings.TrimSpace(v), "[") {
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			r.fail(key, v, "a list of strings")
			return def
		}
		return items
	}
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// strMap accepts a JSON object of strings (what a YAML map becomes).
func (r *configReader) strMap(key string) map[string]string {
	return jsonMap[string](r, key, "a map of strings to strings")
}

// numberMap accepts a JSON object of numbers (what a YAML map of numbers becomes).
func (r *configReader) numberMap(key string) map[string]float64 {
	return jsonMap[float64](r, key, "a map of names to numbers")
}

// listMap accepts a JSON object of lists of strings (what a YAML map of lists becomes).
func (r *configReader) listMap(key string) map[string][]string {
	return jsonMap[[]string](r, key, "a map of strings to lists of strings")
}

// jsonMap reads a key whose value is a JSON object of one type of value; empty when unset, and
// a problem that says what is allowed when it is not such an object.
func jsonMap[V any](r *configReader, key, allowed string) map[string]V {
	r.remember(key, "{}")
	v, ok := r.lookup(key)
	if !ok {
		return map[string]V{}
	}
	m := map[string]V{}
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		r.fail(key, v, allowed)
		return map[string]V{}
	}
	return m
}

// providerKeyHints point aws: keys the explicit provider does not read to the project's keys
// that do the same.
var providerKeyHints = map[string]string{
	"aws:allowedAccountIds": "allowedAccountIds", "aws:defaultTags": "tags",
}

// rejectUnknownKeys reports every key the program does not read, so that a typo ("vpcCdir",
// "aws:regoin") fails loudly instead of silently deploying the default. Keys of the aws:
// namespace other than aws:region and aws:profile are refused too: they configure the default
// provider, which this program never uses. The pulumi: namespace belongs to the CLI.
func (r *configReader) rejectUnknownKeys() {
	var unknown []string
	for key := range r.raw {
		namespace, _, _ := strings.Cut(key, ":")
		if !r.known[key] && namespace != "pulumi" {
			unknown = append(unknown, key)
		}
	}
	sort.Strings(unknown)
	for _, key := range unknown {
		allowed := "a key this program reads (see docs/configuration.md)"
		switch namespace, _, _ := strings.Cut(key, ":"); {
		case providerKeyHints[key] != "":
			allowed = "unset: the program's explicit provider does not read it; set " + providerKeyHints[key] + " instead"
		case namespace == "aws":
			allowed = "aws:region or aws:profile, the only aws: keys the program's explicit provider takes"
		case namespace != r.namespace:
			allowed = "a key of this project (" + r.namespace + ":...) or aws:region or aws:profile"
		}
		if near := r.nearestKnown(key); near != "" {
			allowed += "; did you mean " + near + "?"
		}
		r.fail(r.shortKey(key), r.raw[key], allowed)
	}
}

// shortKey is a key as "pulumi config set" takes it: without the project's namespace.
func (r *configReader) shortKey(key string) string {
	return strings.TrimPrefix(key, r.namespace+":")
}

func (r *configReader) nearestKnown(key string) string {
	known := make([]string, 0, len(r.known))
	for k := range r.known {
		known = append(known, k)
	}
	sort.Strings(known)
	best, bestDistance := "", 3 // further than two edits away is no longer a typo
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDistance {
			best, bestDistance = r.shortKey(k), d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, for "did you mean" suggestions.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// subnetCidrs reads the three subnet lists of an explicit layout, by tier; nil when none is set.
func (r *configReader) subnetCidrs() map[string][]string {
	layout := map[string][]string{}
	for _, t := range subnetTiers {
		if cidrs := r.list(t.name+"SubnetCidrs", nil); cidrs != nil {
			layout[t.name] = cidrs
		}
	}
	if len(layout) == 0 {
		return nil
	}
	return layout
}

// Problem is one invalid config value: the key, the value given and what is allowed.
type Problem struct {
	Key     string
	Value   string
	Allowed string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s = %q: must be %s", p.Key, p.Value, p.Allowed)
}

// ConfigError lists every problem of a stack's configuration.
type ConfigError struct {
	Problems []Problem
}

// InputError marks the error as the program's refusal of its config (offline.InputError).
func (e *ConfigError) InputError() {}

func (e *ConfigError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	count := fmt.Sprintf("%d problems", len(e.Problems))
	if len(e.Problems) == 1 {
		count = "1 problem"
	}
	lines = append(lines, "invalid configuration ("+count+"):")
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

type problems []Problem

func (p *problems) add(key, value, allowed string) {
	*p = append(*p, Problem{Key: key, Value: value, Allowed: allowed})
}

func (p *problems) check(ok bool, key, value, allowed string) {
	if !ok {
		p.add(key, value, allowed)
	}
}
