package main

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// This file holds the limits AWS enforces that the program computes against: the provider
// would only report them at deploy time, and mocks never do.

// bucketNameProblem says why name breaks S3's general purpose bucket naming rules, or returns ""
// when it is valid. Dots are refused too: they are legal, but break TLS for virtual-hosted
// requests (the certificate *.s3.amazonaws.com matches one label only).
func bucketNameProblem(name string) string {
	switch {
	case len(name) < 3 || len(name) > 63:
		return fmt.Sprintf("3 to 63 characters (%d given)", len(name))
	case !bucketPattern.MatchString(name):
		return "only lowercase letters, digits and hyphens, beginning and ending with a letter or digit"
	case strings.Contains(name, "."):
		return "no dots (they break TLS for virtual-hosted requests)"
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "not formatted as an IP address"
	}
	for _, prefix := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, prefix) {
			return "not beginning with the reserved prefix " + prefix
		}
	}
	for _, suffix := range []string{"-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"} {
		if strings.HasSuffix(name, suffix) {
			return "not ending with the reserved suffix " + suffix
		}
	}
	return ""
}

var bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)

// fargateMemory lists, per CPU size, the memory sizes (MiB) Fargate accepts for Linux tasks.
var fargateMemory = map[int][]int{
	256:   {512, 1024, 2048},
	512:   steps(1024, 4096, 1024),
	1024:  steps(2048, 8192, 1024),
	2048:  steps(4096, 16384, 1024),
	4096:  steps(8192, 30720, 1024),
	8192:  steps(16384, 61440, 4096),
	16384: steps(32768, 122880, 8192),
}

func steps(from, to, step int) []int {
	var out []int
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

func validFargatePair(cpu, memory int) bool {
	for _, m := range fargateMemory[cpu] {
		if m == memory {
			return true
		}
	}
	return false
}

func fargateCPUs() []int { return slices.Sorted(maps.Keys(fargateMemory)) }

func fargateMemoryRange(cpu int) string {
	m := fargateMemory[cpu]
	if cpu == 256 {
		return joinInts(m)
	}
	return fmt.Sprintf("%d to %d in steps of %d", m[0], m[len(m)-1], m[1]-m[0])
}

// postgresFamilies maps each PostgreSQL major version RDS supports to its parameter group
// family; the family must match the engine's major version or RDS rejects the group.
var postgresFamilies = map[string]string{
	"14": "postgres14",
	"15": "postgres15",
	"16": "postgres16",
	"17": "postgres17",
}

var (
	pgIdentifier        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
	dailyWindowPattern  = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$`)
	weeklyWindowPattern = regexp.MustCompile(`^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])$`)
)

// reservedWords are names RDS refuses as a master user or database name: PostgreSQL's
// reserved key words and the roles RDS keeps for itself.
var reservedWords = []string{
	"admin", "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "authorization",
	"both", "case", "cast", "check", "collate", "column", "constraint", "create", "current_user",
	"default", "desc", "distinct", "do", "else", "end", "except", "false", "for", "foreign",
	"from", "grant", "group", "having", "in", "into", "is", "join", "limit", "not", "null",
	"offset", "on", "only", "or", "order", "postgres", "primary", "public", "references",
	"rdsadmin", "rdsrepladmin", "rds_superuser", "select", "session_user", "table", "template0",
	"template1", "then", "to", "true", "union", "unique", "user", "using", "when", "where", "with",
}

func isReservedWord(s string) bool {
	for _, w := range reservedWords {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

// cacheVersions are the engine versions ElastiCache runs, by engine: Redis OSS 6.2 to 7.1, and
// Valkey 7.2 and 8 (the parameter group family, "redis7" or "valkey8", follows the version; the
// program uses the engine's default group of that family). defaultCacheVersions is each
// engine's default.
var (
	cacheVersions        = map[string][]string{"redis": {"6.2", "7.0", "7.1"}, "valkey": {"7.2", "8.0", "8.1"}}
	defaultCacheVersions = map[string]string{"redis": "7.1", "valkey": "8.0"}
)

// isSmallInstance is true for the burstable micro and small classes, which Performance
// Insights does not support.
func isSmallInstance(class string) bool {
	return strings.HasSuffix(class, ".micro") || strings.HasSuffix(class, ".small")
}

// weekMinutes is the length of the week that maintenance windows repeat over.
const weekMinutes = 7 * 24 * 60

var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// span is a half-open range of minutes of the week; it may wrap past Sunday midnight.
type span struct{ start, length int }

func (s span) overlaps(o span) bool {
	// Two arcs of a circle overlap when either one's start lies inside the other.
	inside := func(x int, a span) bool { return (x-a.start+weekMinutes)%weekMinutes < a.length }
	return inside(s.start, o) || inside(o.start, s)
}

// parseDailyWindow parses "hh24:mi-hh24:mi" (UTC) into its seven occurrences of the week.
func parseDailyWindow(w string) ([]span, bool) {
	m := dailyWindowPattern.FindStringSubmatch(w)
	if m == nil {
		return nil, false
	}
	start, end := atoi(m[1])*60+atoi(m[2]), atoi(m[3])*60+atoi(m[4])
	length := (end - start + 24*60) % (24 * 60)
	var spans []span
	for day := range 7 {
		spans = append(spans, span{day*24*60 + start, length})
	}
	return spans, true
}

// parseWeeklyWindow parses "ddd:hh24:mi-ddd:hh24:mi" (UTC).
func parseWeeklyWindow(w string) (span, bool) {
	m := weeklyWindowPattern.FindStringSubmatch(w)
	if m == nil {
		return span{}, false
	}
	at := func(day, h, mi string) int { return slices.Index(weekdays, day)*24*60 + atoi(h)*60 + atoi(mi) }
	start, end := at(m[1], m[2], m[3]), at(m[4], m[5], m[6])
	return span{start, (end - start + weekMinutes) % weekMinutes}, true
}

// atoi converts the digits a pattern has already matched.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// joinInts lists numbers for messages: "1, 3, 5".
func joinInts(values []int) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}
