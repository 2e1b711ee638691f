package main

import (
	"coldchain/internal/offline"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateURNs = flag.Bool("update-urns", false, "rewrite testdata/urns-*.txt from the current plans")

// TestURNsAreStable compares every URN of the released production and staging plans, and of
// production with a domain, with the golden lists in testdata. A URN that changes makes a real
// stack delete the old resource and create a new one (a database, a bucket...): a change of a
// golden list is a migration to review, never a side effect of a refactoring. Regenerate with
// go test -run TestURNsAreStable -update-urns, and say in the change why the URNs moved.
func TestURNsAreStable(t *testing.T) {
	for name, p := range map[string]*offline.Plan{
		"production":             planOfFile(t, "production"),
		"staging":                planOfFile(t, "staging"),
		"production-with-domain": planOfFile(t, "production", "domainName=dispatch.example.com"),
	} {
		var urns []string
		for _, r := range p.Resources {
			urns = append(urns, r.URN)
		}
		sort.Strings(urns)
		got := strings.Join(urns, "\n") + "\n"
		path := filepath.Join("testdata", "urns-"+name+".txt")
		if *updateURNs {
			require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			continue
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equalf(t, string(want), got, "the URNs of %s moved: a real stack would replace those resources", name)
	}
}
