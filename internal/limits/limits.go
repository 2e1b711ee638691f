// Package limits holds the limits AWS enforces that no mock checks: the program's config
// validation computes against them, and so do the guard rules, on the offline plan and in the
// policy pack.
package limits

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// BucketNameProblem says why name breaks S3's general purpose bucket naming rules, or returns ""
// when it is valid. Dots are refused too: they are legal, but break TLS for virtual-hosted
// requests (the certificate *.s3.amazonaws.com matches one label only).
func BucketNameProblem(name string) string {
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

// ValidFargatePair is true for a CPU and memory size Fargate accepts together.
func ValidFargatePair(cpu, memory int) bool {
	for _, m := range fargateMemory[cpu] {
		if m == memory {
			return true
		}
	}
	return false
}

// FargateCPUs are the CPU sizes Fargate offers.
func FargateCPUs() []int { return slices.Sorted(maps.Keys(fargateMemory)) }

// FargateMemoryRange says which memory sizes go with a CPU size.
func FargateMemoryRange(cpu int) string {
	m := fargateMemory[cpu]
	if cpu == 256 {
		return JoinInts(m)
	}
	return fmt.Sprintf("%d to %d in steps of %d", m[0], m[len(m)-1], m[1]-m[0])
}

// PostgresFamilies maps each PostgreSQL major version RDS supports to its parameter group
// family; the family must match the engine's major version or RDS rejects the group.
var PostgresFamilies = map[string]string{
	"14": "postgres14",
	"15": "postgres15",
	"16": "postgres16",
	"17": "postgres17",
}

var (
	dailyWindowPattern  = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$`)
	weeklyWindowPattern = regexp.MustCompile(`^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])$`)
)

// weekMinutes is the length of the week that maintenance windows repeat over.
const weekMinutes = 7 * 24 * 60

var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// Span is a half-open range of minutes of the week; it may wrap past Sunday midnight.
type Span struct{ start, length int }

// Length is how many minutes a span lasts.
func (s Span) Length() int { return s.length }

// Overlaps is true when two spans share a minute.
func (s Span) Overlaps(o Span) bool {
	// Two arcs of a circle overlap when either one's start lies inside the other.
	inside := func(x int, a Span) bool { return (x-a.start+weekMinutes)%weekMinutes < a.length }
	return inside(s.start, o) || inside(o.start, s)
}

// ParseDailyWindow parses "hh24:mi-hh24:mi" (UTC) into its seven occurrences of the week.
func ParseDailyWindow(w string) ([]Span, bool) {
	m := dailyWindowPattern.FindStringSubmatch(w)
	if m == nil {
		return nil, false
	}
	start, end := atoi(m[1])*60+atoi(m[2]), atoi(m[3])*60+atoi(m[4])
	length := (end - start + 24*60) % (24 * 60)
	var spans []Span
	for day := range 7 {
		spans = append(spans, Span{day*24*60 + start, length})
	}
	return spans, true
}

// ParseWeeklyWindow parses "ddd:hh24:mi-ddd:hh24:mi" (UTC).
func ParseWeeklyWindow(w string) (Span, bool) {
	m := weeklyWindowPattern.FindStringSubmatch(w)
	if m == nil {
		return Span{}, false
	}
	at := func(day, h, mi string) int { return slices.Index(weekdays, day)*24*60 + atoi(h)*60 + atoi(mi) }
	start, end := at(m[1], m[2], m[3]), at(m[4], m[5], m[6])
	return Span{start, (end - start + weekMinutes) % weekMinutes}, true
}

// WindowProblem is what is wrong with a pair of windows: the key of the offending window, its
// value and what AWS allows.
type WindowProblem struct{ Key, Value, Allowed string }

// CheckWindows checks a daily window (backups, snapshots) and a weekly one (maintenance) of a
// database or cache: AWS's formats, at least minMinutes each, and no overlap.
func CheckWindows(dailyKey, daily, weeklyKey, weekly string, minMinutes int) []WindowProblem {
	var out []WindowProblem
	days, okDaily := ParseDailyWindow(daily)
	week, okWeekly := ParseWeeklyWindow(weekly)
	if !okDaily || days[0].length < minMinutes {
		out = append(out, WindowProblem{dailyKey, daily, fmt.Sprintf("a daily UTC window hh24:mi-hh24:mi of at least %d minutes, such as 17:00-18:00", minMinutes)})
	}
	if !okWeekly || week.length < minMinutes {
		out = append(out, WindowProblem{weeklyKey, weekly, fmt.Sprintf("a weekly UTC window ddd:hh24:mi-ddd:hh24:mi of at least %d minutes, such as sun:18:30-sun:19:30", minMinutes)})
	}
	if !okDaily || !okWeekly {
		return out
	}
	for _, d := range days {
		if d.Overlaps(week) {
			return append(out, WindowProblem{weeklyKey, weekly, fmt.Sprintf("a window that does not overlap %s (%s)", dailyKey, daily)})
		}
	}
	return out
}

// LogRetentionDays are the retention periods CloudWatch Logs accepts (PutRetentionPolicy).
var LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// TLSPolicy is the load balancer security policy that accepts TLS 1.3 and 1.2 with
// forward-secret ciphers only.
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// atoi converts the digits a pattern has already matched.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// ELBLogAccounts are the Elastic Load Balancing accounts that write access logs in the regions
// that opened before August 2022; newer regions use the log delivery service principal.
var ELBLogAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
	"us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
	"ap-southeast-3": "589379963580", "ap-south-1": "718504428378", "ap-northeast-3": "383597477331",
	"ap-northeast-2": "600734575887", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
	"ap-northeast-1": "582318560864", "ca-central-1": "985666609251", "eu-central-1": "054676820928",
	"eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-south-1": "635631232127",
	"eu-west-3": "009996457667", "eu-north-1": "897822967062", "me-south-1": "076674570225",
	"sa-east-1": "507241528517", "us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
	"cn-north-1": "638102146993", "cn-northwest-1": "037604701340",
}

// JoinInts lists numbers for messages: "1, 3, 5".
func JoinInts(values []int) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// The registry replication's limits: rules in the configuration and repository filters in a
// rule (ECR's PutReplicationConfiguration, as the provider's schema enforces them).
const (
	EcrReplicationRules   = 10
	EcrReplicationFilters = 100
)
