package main

import (
	"coldchain/internal/accountwide"
	"coldchain/internal/offline"
	"coldchain/internal/workflows"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// budgetMargin is what a stack's budget adds to its cost estimate: usage above the estimate's
// assumptions, before the alert at 80% of the budget (about the estimate) and at 100%.
const budgetMargin = 0.20

// budgetFor is a released stack's monthly budget: its estimate plus the margin, rounded up to
// $10.
func budgetFor(t *testing.T, stack string) float64 {
	e := estimateOf(t, stack, released()...)
	return math.Ceil(e.Total*(1+budgetMargin)/10) * 10
}

// TestTheAccountStacksDescribeTheApplicationStacks holds each account stack's description of
// the application stacks (account/Pulumi.*.yaml) to their own stack files: prefix, environment,
// region, DR region and firewall as the program reads them, the preview's GitHub environment as
// the workflows run it, and the budget at the cost estimate plus the margin. Each layout of
// accounts covers every application stack once.
func TestTheAccountStacksDescribeTheApplicationStacks(t *testing.T) {
	t.Parallel()
	flows, err := workflows.Read(".")
	require.NoError(t, err)
	subjects, err := workflows.Subjects(flows)
	require.NoError(t, err)
	files, err := filepath.Glob("account/Pulumi.*.yaml")
	require.NoError(t, err)
	described := map[string][]string{} // application stack -> account stacks
	for _, file := range files {
		accountStack := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "Pulumi."), ".yaml")
		raw, err := offline.LoadStackConfig("account", "coldchain-account", accountStack)
		require.NoError(t, err)
		var stacks []struct {
			Name, Prefix, Environment, Region, DrRegion, PreviewEnvironment string
			Waf                                                             bool
			MonthlyBudgetUSD                                                float64 `json:"monthlyBudgetUsd"`
			Repositories, Buckets, LogGroups                                []string
		}
		require.NoErrorf(t, json.Unmarshal([]byte(raw["coldchain-account:stacks"]), &stacks), "%s", file)
		for _, s := range stacks {
			described[s.Name] = append(described[s.Name], accountStack)
			cfg := mustLoadStackConfig(t, s.Name)
			where := file + ": " + s.Name
			assert.Equal(t, cfg.Prefix(), s.Prefix, where)
			assert.Equal(t, cfg.Environment, s.Environment, where)
			assert.Equal(t, cfg.Region, s.Region, where)
			assert.Equal(t, cfg.DrRegion, s.DrRegion, where)
			assert.Equal(t, cfg.Firewall.Enabled, s.Waf, where)
			assert.Falsef(t, cfg.AccountSettings.Owner, "%s: the account stack owns the account's settings", where)
			preview := "pull_request"
			if s.PreviewEnvironment != "" {
				preview = "environment:" + s.PreviewEnvironment
			}
			assert.Containsf(t, subjects, preview, "%s: the workflows preview it there", where)
			assert.Containsf(t, subjects, "environment:"+s.Name, "%s: the workflows deploy it there", where)
			// The names its deployment role may manage: its prefix's, or those it lists.
			p := planOfFile(t, s.Name)
			covered := func(name, after string, listed []string) bool {
				return strings.HasPrefix(name, s.Prefix+after) || slices.ContainsFunc(listed, func(l string) bool { return strings.HasPrefix(name, l) })
			}
			for _, r := range p.All(bucketType) {
				assert.Truef(t, covered(r.In("bucket"), "-", s.Buckets), "%s: bucket %s is neither %s-* nor listed in buckets", where, r.In("bucket"), s.Prefix)
			}
			for _, r := range p.All(repoType) {
				assert.Truef(t, covered(r.In("name"), "/", s.Repositories), "%s: repository %s is neither %s/* nor listed in repositories", where, r.In("name"), s.Prefix)
			}
			for _, r := range p.All(logGroupType) {
				assert.Truef(t, strings.Contains(r.In("name"), s.Prefix) || covered(r.In("name"), "", s.LogGroups),
					"%s: log group %s neither holds %s nor is listed in logGroups", where, r.In("name"), s.Prefix)
			}
			assert.Equalf(t, budgetFor(t, s.Name), s.MonthlyBudgetUSD, "%s: the budget is the cost estimate plus %.0f%%, rounded up to $10 (go run . cost --stack %s)",
				where, budgetMargin*100, s.Name)
		}
	}
	// The shared account, and one account each.
	for _, stack := range []string{"production", "staging"} {
		assert.ElementsMatchf(t, []string{"shared", stack}, described[stack], "the account stacks that describe %s", stack)
	}
	assert.True(t, slices.Contains(described["production"], "production"))
}

// mustLoadStackConfig loads a shipped application stack's config as released.
func mustLoadStackConfig(t *testing.T, stack string) *Config {
	t.Helper()
	cfg, err := loadConfig(project, stack, with(mustLoadStack(t, stack), released()...))
	require.NoError(t, err)
	return cfg
}

// TestEveryRoleStaysWithinItsBoundary: every role the stacks create carries the account
// stack's boundary, and every action of its policy is one the boundary allows, so that the
// boundary takes nothing from the application and a deployment's role can add nothing to it.
func TestEveryRoleStaysWithinItsBoundary(t *testing.T) {
	t.Parallel()
	allowed := func(action string) bool {
		return slices.ContainsFunc(accountwide.RoleBoundaryActions, func(pattern string) bool {
			prefix, wild := strings.CutSuffix(pattern, "*")
			return action == pattern || (wild && strings.HasPrefix(action, prefix))
		})
	}
	for _, v := range []struct {
		stack string
		sets  []string
	}{
		{"production", []string{"domainName=dispatch.example.com"}}, {"production", withWorker}, {"production", []string{"accountSettingsOwner=true"}},
		{"production", []string{`backendSecrets={"PARTNER_TOKEN":"/coldchain/production/partner-token"}`, `backendManagedSecrets=["API_KEY"]`}},
		{"staging", nil},
	} {
		p := planOfFile(t, v.stack, v.sets...)
		boundary := "arn:aws:iam::123456789012:policy/" + accountwide.RoleBoundaryName(mustLoadStackConfig(t, v.stack).Prefix())
		for _, role := range p.All(roleType) {
			assert.Equalf(t, boundary, role.In("permissionsBoundary"), "%s %v: role %s", v.stack, v.sets, role.Name)
		}
		for _, rp := range p.All(rolePolicy) {
			var doc parsedPolicy
			rp.Doc(t, "policy", &doc)
			for _, s := range doc.Statement {
				for _, a := range strs(s.Action) {
					assert.Truef(t, allowed(a), "%s %v: %s may %s, which the boundary (internal/accountwide) does not allow", v.stack, v.sets, rp.Name, a)
				}
			}
		}
	}
}
