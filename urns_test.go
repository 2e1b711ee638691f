package main

import (
	"coldchain/internal/offline"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestURNsAreStable holds every URN the released production and staging plans (and production
// with a domain) have ever had, in testdata/urns-*.txt, against today's plan. A stack that
// holds a URN the program no longer registers deletes that resource and creates another (a
// database, a bucket, the alarm topic whose subscription the on-call confirmed): a URN leaves
// the plan only with an alias from it (pulumi.Aliases on the resource that took its place), or
// by a line removed by hand, on purpose, when the resource is retired. A URN new to the plan
// joins its list with go test -run TestURNsAreStable -update, which only ever adds.
func TestURNsAreStable(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]*offline.Plan{
		"production":             planOfFile(t, "production"),
		"staging":                planOfFile(t, "staging"),
		"production-with-domain": planOfFile(t, "production", "domainName=dispatch.example.com"),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "urns-"+name+".txt")
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			listed := strings.Fields(string(data))

			answers := map[string]string{} // a URN a stack may hold -> the resource that answers to it
			var current []string
			for _, r := range p.Resources {
				current = append(current, r.URN)
				answers[r.URN] = r.URN
				for _, alias := range r.Aliases {
					answers[alias] = r.URN
				}
			}
			for _, urn := range listed {
				if _, ok := answers[urn]; !ok {
					t.Errorf("%s is in %s but no resource of the plan has it or an alias from it: a stack that holds it "+
						"would delete that resource; give the resource that took its place pulumi.Aliases, or remove the "+
						"line by hand if the resource is retired on purpose", urn, path)
				}
			}
			var added []string
			for _, urn := range current {
				if !slices.Contains(listed, urn) {
					added = append(added, urn)
				}
			}
			if len(added) == 0 {
				return
			}
			if *update {
				all := append(slices.Clone(listed), added...)
				slices.Sort(all)
				require.NoError(t, os.WriteFile(path, []byte(strings.Join(slices.Compact(all), "\n")+"\n"), 0o644))
				return
			}
			t.Errorf("the plan has URNs %s does not list (new resources: go test -run TestURNsAreStable -update adds "+
				"them):\n%s", path, strings.Join(added, "\n"))
		})
	}
}
