package main

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
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

func fargateCPUs() []int {
	cpus := make([]int, 0, len(fargateMemory))
	for cpu := range fargateMemory {
		cpus = append(cpus, cpu)
	}
	sort.Ints(cpus)
	return cpus
}

func fargateMemoryRange(cpu int) string {
	m := fargateMemory[cpu]
	if cpu == 256 {
		return joinInts(m)
	}
	return fmt.Sprintf("%d to %d in steps of %d", m[0], m[len(m)-1], m[1]-m[0])
}
