package main

import (
	"coldchain/internal/offline"
	"slices"
	"strings"
	"testing"
)

// TestURNsAreStable compares every URN of the released production and staging plans, and of
// production with a domain, with the golden lists in testdata. A URN that changes makes a real
// stack delete the old resource and create a new one (a database, a bucket...): a change of a
// golden list is a migration to review, never a side effect of a refactoring. Regenerate with
// go test -run TestURNsAreStable -update, and say in the change why the URNs moved.
func TestURNsAreStable(t *testing.T) {
	for name, p := range map[string]*offline.Plan{
		"production":             planOfFile(t, "production"),
		"staging":                planOfFile(t, "staging"),
		"production-with-domain": planOfFile(t, "production", "domainName=dispatch.example.com"),
	} {
		urns := make([]string, len(p.Resources))
		for i, r := range p.Resources {
			urns[i] = r.URN
		}
		slices.Sort(urns)
		golden(t, "urns-"+name+".txt", strings.Join(urns, "\n")+"\n")
	}
}
