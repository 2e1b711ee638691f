package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"coldchain/internal/cost"
	"coldchain/internal/offline"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// estimateOf prices a shipped stack with config overrides and the default usage.
func estimateOf(t *testing.T, stack string, sets ...string) *cost.Estimate {
	t.Helper()
	raw := with(mustLoadStack(t, stack), sets...)
	e, err := stackCost(planStack, project, stack, raw, nil)
	require.NoError(t, err)
	return e
}

func mustLoadStack(t *testing.T, stack string) map[string]string {
	t.Helper()
	raw, err := offline.LoadStackConfig(".", project, stack)
	require.NoError(t, err)
	return raw
}

// line is the estimate's line whose description starts with what.
func line(t *testing.T, e *cost.Estimate, area, what string) cost.Line {
	t.Helper()
	for _, l := range e.Lines {
		if l.Area == area && strings.HasPrefix(l.What, what) {
			return l
		}
	}
	t.Fatalf("%s has no %s line %q", e.Stack, area, what)
	return cost.Line{}
}

// TestCostLinesAreThePriceFilesPricesTimesWhatThePlanRuns pins line items to values computed by
// hand from internal/cost/prices.tsv.
func TestCostLinesAreThePriceFilesPricesTimesWhatThePlanRuns(t *testing.T) {
	t.Parallel()
	p := estimateOf(t, "production", released()...)
	for _, c := range []struct {
		area, what string
		monthly    float64
		status     string
	}{
		// 2 tasks x 1 vCPU x 730 h x $0.04656 (Seoul Fargate x86 vCPU-hour, sourced)
		{"compute", "backend: 2 tasks, vCPU", 67.98, "sourced"},
		// 2 tasks x 0.5 vCPU x 730 h x $0.04656
		{"compute", "frontend: 2 tasks, vCPU", 33.99, "sourced"},
		// 730 h x $0.204 (db.t4g.medium Multi-AZ: derived, twice the single-AZ price)
		{"database", "PostgreSQL db.t4g.medium, multi-az", 148.92, "derived"},
		// 50 GB x $0.262 (gp3 Multi-AZ)
		{"database", "gp3 storage, multi-az", 13.10, "sourced"},
		// 2 nodes x 730 h x $0.078 (Valkey cache.t4g.medium, derived)
		{"cache", "valkey cache.t4g.medium nodes", 113.88, "derived"},
		// 2 NAT gateways x 730 h x $0.059
		{"network", "NAT gateways", 86.14, "sourced"},
		// 4 addresses (2 NAT, 2 load balancer) x 730 h x $0.005
		{"network", "public IPv4 addresses", 14.60, "sourced"},
		// 25 GB of 50 archived x $0.00435 (Glacier Instant Retrieval, derived)
		{"storage", "backups, S3 Glacier Instant Retrieval", 0.11, "derived"},
		// 24 alarms x $0.10
		{"monitoring", "alarms", 2.40, "sourced"},
		// $5 the web ACL, $1 each of its 5 rules
		{"firewall", "web ACL", 5.00, "derived"},
		{"firewall", "rules", 5.00, "derived"},
		// 50 GB of replicated backups in Tokyo x $0.095
		{"dr", "replicated database backups", 4.75, "derived"},
	} {
		l := line(t, p, c.area, c.what)
		assert.InDeltaf(t, c.monthly, l.Monthly, 0.005, "%s %s", c.area, c.what)
		assert.Equalf(t, c.status, l.Price.Status, "%s %s", c.area, c.what)
	}
	assert.Equal(t, "ap-northeast-1", line(t, p, "dr", "KMS key").Price.Region, "the DR region's copies at its prices")

	// Staging: 1 task of 0.5 vCPU on Fargate Spot, at 0.307 of the on-demand price.
	s := estimateOf(t, "staging", released()...)
	spot := line(t, s, "compute", "backend: 1 tasks on Fargate Spot")
	assert.InDelta(t, 0.5*730*0.04656*0.307, spot.Monthly, 0.006)
	assert.Equal(t, 0.5*730, spot.Quantity, "the quantity is vCPU-hours; Spot's share is in the price")
	assert.Equal(t, "derived", spot.Price.Status, "Spot's share is an estimate")
	assert.NotContains(t, s.ByArea(), "dr", "staging keeps no copies")
	assert.NotContains(t, s.ByArea(), "firewall")

	var total float64
	for _, l := range p.Lines {
		total += l.Monthly
	}
	assert.InDelta(t, total, p.Total, 0.01)
}

// TestCostRefusesWhatItCannotPrice: a missing price, an unknown assumption or a negative one is
// an error naming it, never a zero.
func TestCostRefusesWhatItCannotPrice(t *testing.T) {
	t.Parallel()
	raw := with(mustLoadStack(t, "production"), append(released(), "aws:region=eu-west-1", "drRegion=eu-central-1")...)
	_, err := stackCost(planStack, project, "production", raw, nil)
	var missing *cost.MissingPriceError
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, "eu-west-1", missing.Region)
	assert.Contains(t, err.Error(), "no price of fargate.linux.x86.vcpu_hour in eu-west-1")

	for _, tc := range []struct{ args, want string }{
		{"--usage natGB=5", "--usage natGB: no such assumption (one of the cost command's assumptions: "},
		{"--usage natProcessedGB=-5", "--usage natProcessedGB=-5: must be a non-negative number"},
		{"--usage backupsArchivedShare=2", "must be a share from 0 to 1"},
		{"-c dbInstanceClass=db.t3.huge", "dbInstanceClass"},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 1, command(append([]string{"cost"}, strings.Fields(tc.args)...), &stdout, &stderr), tc.args)
		assert.Contains(t, stderr.String(), tc.want, tc.args)
	}
}

func TestCostJSONIsTheEstimate(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, command([]string{"cost", "--stack", "staging", "--json", "-c", released()[0], "-c", released()[1]}, &stdout, &stderr), stderr.String())
	var e struct {
		Stack string `json:"stack"`
		Lines []struct {
			Area, What, Item, Region, Status string
			Quantity, UnitPrice, Monthly     float64
		} `json:"lines"`
		Assumptions map[string]float64 `json:"assumptions"`
		Total       float64            `json:"total"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &e))
	assert.Equal(t, "coldchain-staging", e.Stack)
	assert.Len(t, e.Assumptions, len(cost.DefaultUsage))
	sum := 0.0
	for _, l := range e.Lines {
		assert.NotEmpty(t, l.Item)
		assert.InDelta(t, l.Quantity*l.UnitPrice, l.Monthly, 0.006, l.What)
		sum += l.Monthly
	}
	assert.InDelta(t, sum, e.Total, 0.01)
}

// TestThePriceFileSaysWhereEachPriceComesFrom: every row sourced or derived, with its source.
func TestThePriceFileSaysWhereEachPriceComesFrom(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("internal/cost/prices.tsv")
	require.NoError(t, err)
	_, err = cost.ParseTable(string(data))
	require.NoError(t, err)
	rows := 0
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, "\t")
		if strings.HasPrefix(l, "#") || len(f) < 9 || f[0] == "region" {
			continue
		}
		rows++
		assert.Contains(t, []string{"sourced", "derived"}, f[6], l)
		assert.NotEmpty(t, f[7], "a price without its source: %s", l)
	}
	assert.Greater(t, rows, 100)
}

// TestCostAgainstAnEarlierEstimateListsWhatChanges: what a pull request's change costs.
func TestCostAgainstAnEarlierEstimateListsWhatChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	before := dir + "/before.json"
	var stdout, stderr bytes.Buffer
	args := []string{"cost", "--stack", "production", "-c", released()[0], "-c", released()[1]}
	require.Equal(t, 0, command(append(args, "--json"), &stdout, &stderr), stderr.String())
	require.NoError(t, os.WriteFile(before, stdout.Bytes(), 0o644))

	stdout.Reset()
	require.Equal(t, 0, command(append(args, "-c", "backendMinTasks=3", "-c", "dbInstanceClass=db.t3.medium", "--against", before, "--json"), &stdout, &stderr), stderr.String())
	var c cost.Comparison
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &c))
	byWhat := map[string]cost.Change{}
	for _, ch := range c.Changes {
		byWhat[ch.What] = ch
	}
	// A third backend task: 1 vCPU x 730 h x $0.04656, and its 2 GB.
	assert.InDelta(t, 33.99, byWhat["backend: 3 tasks, vCPU"].Delta, 0.005)
	assert.InDelta(t, 7.46, byWhat["backend: 3 tasks, memory"].Delta, 0.005)
	// Another class is another line: the old one goes, the new one comes.
	assert.InDelta(t, -148.92, byWhat["PostgreSQL db.t4g.medium, multi-az"].Delta, 0.005)
	assert.InDelta(t, 164.98, byWhat["PostgreSQL db.t3.medium, multi-az"].Delta, 0.005)
	assert.InDelta(t, c.After-c.Before, c.Delta, 0.005)
	assert.Len(t, c.Changes, 4, "nothing else changes")

	stdout.Reset()
	stderr.Reset()
	bad := dir + "/plan.json"
	require.NoError(t, os.WriteFile(bad, []byte(`{"resources":[]}`), 0o644))
	assert.Equal(t, 1, command(append(args, "--against", bad), &stdout, &stderr))
	assert.Contains(t, stderr.String(), `--against `+bad+`: not the JSON of "cost --json"`)
}

// Markers of README's generated cost table.
const (
	costTableStart = "<!-- cost table: generated by TestReadmeCostTableIsTheCommands (go test -run TestReadmeCostTableIsTheCommands -update) -->\n"
	costTableEnd   = "<!-- end of the cost table -->\n"
)

// releasedEstimates are the shipped stacks' estimates, released, and the Terraform design's at
// production's usage.
func releasedEstimates(t *testing.T) (tf, production, staging *cost.Estimate) {
	t.Helper()
	production, staging = estimateOf(t, "production", released()...), estimateOf(t, "staging", released()...)
	table, err := cost.Prices()
	require.NoError(t, err)
	cfg, err := loadConfig(project, "production", with(mustLoadStack(t, "production"), released()...))
	require.NoError(t, err)
	tf, err = terraformDesign(table, cfg.Region, cfg.Database.AllocatedStorage, production.Assumptions)
	require.NoError(t, err)
	return tf, production, staging
}

// TestReadmeCostTableIsTheCommands: README's table is what the command computes; -update
// rewrites it.
func TestReadmeCostTableIsTheCommands(t *testing.T) {
	t.Parallel()
	tf, production, staging := releasedEstimates(t)
	table := costTable(tf, production, staging)
	const path = "docs/cost.md"
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	readme := string(data)
	start, end := strings.Index(readme, costTableStart), strings.Index(readme, costTableEnd)
	require.True(t, start >= 0 && end > start, "%s has the cost table's markers", path)
	if *update {
		readme = readme[:start+len(costTableStart)] + table + readme[end:]
		require.NoError(t, os.WriteFile(path, []byte(readme), 0o644))
		return
	}
	assert.Equal(t, table, readme[start+len(costTableStart):end], "%s's cost table differs from the command's: go test -run TestReadmeCostTableIsTheCommands -update", path)
}

// TestTheStacksMeetTheirCostTargets: production without its extras at most 0.9 of the
// Terraform setup's design priced the same way, at equal availability (Multi-AZ database, two
// cache nodes, a NAT gateway per zone, the same tasks); staging at most a quarter of production.
func TestTheStacksMeetTheirCostTargets(t *testing.T) {
	t.Parallel()
	tf, production, staging := releasedEstimates(t)
	assert.LessOrEqual(t, withoutExtras(production), 0.9*tf.Total, "production without the firewall and the DR copies")
	assert.LessOrEqual(t, staging.Total, 0.25*production.Total, "staging")
}

// TestReadmesCostChoicesSaveWhatTheySay: each saving README's cost section names, computed by
// the command against the alternative.
func TestReadmesCostChoicesSaveWhatTheySay(t *testing.T) {
	t.Parallel()
	section := readmeSection(t, "## Cost")
	tf, production, _ := releasedEstimates(t)
	saving := func(sets ...string) float64 {
		return estimateOf(t, "production", append(released(), sets...)...).Total - production.Total
	}
	for _, c := range []struct {
		claim string
		got   float64
	}{
		{"about $21 over db.t3/cache.t3", saving("dbInstanceClass=db.t3.medium", "redisNodeType=cache.t3.medium")},
		{"about $30 over Redis OSS (on cache.t3.medium)", estimateOf(t, "production", append(released(), "redisNodeType=cache.t3.medium", "redisEngine=redis", "redisEngineVersion=7.1")...).Total -
			estimateOf(t, "production", append(released(), "redisNodeType=cache.t3.medium")...).Total},
		{"about $41 over four 1 vCPU/2 GB tasks", tf.ByArea()["compute"] - production.ByArea()["compute"]},
		{"about $18: its per-task", -saving("containerInsights=false")},
		{"about $47: one zone's outage", -saving("natGateways=Single")},
	} {
		require.Contains(t, section, c.claim)
		var said float64
		_, err := fmt.Sscanf(c.claim, "about $%f", &said)
		require.NoError(t, err)
		assert.InDeltaf(t, said, math.Abs(c.got), 1, "%s: the command says %.2f", c.claim, c.got)
	}
}

// TestCostKnowsEveryResourceTypeThePlansHold: every AWS type of the shipped stacks (released,
// with a domain) is priced or said to be free, so a new one cannot go unpriced by oversight.
func TestCostKnowsEveryResourceTypeThePlansHold(t *testing.T) {
	for _, stack := range []string{"production", "staging"} {
		p := planOfFile(t, stack, append(released(), "domainName=dispatch.example.org")...)
		for _, r := range p.Resources {
			if strings.HasPrefix(r.Type, "aws:") && r.Custom {
				assert.Containsf(t, billedBy, r.Type, "%s %s: cost does not say how it is billed (billedBy, cost.go)", r.Type, r.Name)
			}
		}
	}
}
