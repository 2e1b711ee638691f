package main

import (
	"coldchain/internal/guard"
	"coldchain/internal/offline"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetainedDataStaysReadableInEveryVariation(t *testing.T) {
	t.Parallel()
	checkVariations(t, guard.DataProtection[3:])
	// And where nothing outlives the stack, the key does not either.
	assert.Empty(t, guard.Find("DATA-04").Check(planOfVariation(t, variations[1])))

}

func TestDRRuleCatchesEveryStoreWithoutACopy(t *testing.T) {
	t.Parallel()
	// A stack that owns its account's settings (no account stack) declares the images'
	// replication too: the rule checks that as well.
	base := planOfFile(t, "production", "accountSettingsOwner=true")
	require.Empty(t, guard.Find("DATA-05").Check(base))
	for name, break_ := range map[string]func(p *offline.Plan){
		"backups not copied": func(p *offline.Plan) { p.Resources = without(p.Resources, backupsCopyType, "postgres-backups") },
		"backups copied for less long": func(p *offline.Plan) {
			p.One(t, backupsCopyType, "postgres-backups").Inputs["retentionPeriod"] = 1.0
		},
		"backups copied with the home key": func(p *offline.Plan) {
			p.One(t, backupsCopyType, "postgres-backups").Inputs["kmsKeyId"] = p.One(t, kmsKeyType, "data").Outputs["arn"]
		},
		"a bucket not replicated": func(p *offline.Plan) {
			p.Resources = without(p.Resources, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "uploads")
		},
		"KMS-encrypted objects skipped": func(p *offline.Plan) {
			rule := p.One(t, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "backups").List("rules")[0].(map[string]any)
			delete(rule, "sourceSelectionCriteria")
		},
		"a repository without a replica": func(p *offline.Plan) { p.Resources = without(p.Resources, repoType, "frontend-dr") },
		"images not replicated": func(p *offline.Plan) {
			p.Resources = without(p.Resources, "aws:ecr/replicationConfiguration:ReplicationConfiguration", "images")
		},
		"a team's secret not replicated": func(p *offline.Plan) { p.One(t, secretType, "backend-api-key").Inputs["replicas"] = []any{} },
	} {
		t.Run(name, func(t *testing.T) {
			broken := clonePlan(t, base)
			break_(broken)
			assertCatches(t, "DATA-05", base, broken)
		})
	}
}

func TestDataRulesCatchViolations(t *testing.T) {
	t.Parallel()
	production, staging := planOfVariation(t, variations[0]), planOfVariation(t, variations[1])
	for _, tc := range []struct {
		rule   string
		base   *offline.Plan
		break_ func(p *offline.Plan)
	}{
		{"DATA-01", production, func(p *offline.Plan) { p.One(t, bucketType, "uploads").Protect = false }},
		{"DATA-01", production, func(p *offline.Plan) { p.One(t, dbType, "postgres").Inputs["deletionProtection"] = false }},
		{"DATA-02", production, func(p *offline.Plan) { p.One(t, bucketType, "backups").Inputs["forceDestroy"] = true }},
		{"DATA-02", production, func(p *offline.Plan) { p.One(t, kmsKeyType, "data").Inputs["deletionWindowInDays"] = 7.0 }},
		{"DATA-03", staging, func(p *offline.Plan) { p.One(t, dbType, "postgres").Protect = true }},
		{"DATA-03", staging, func(p *offline.Plan) { p.One(t, repoType, "backend").Inputs["forceDelete"] = false }},
		{"DATA-04", production, func(p *offline.Plan) { p.One(t, kmsKeyType, "data").RetainOnDelete = false }},
	} {
		broken := clonePlan(t, tc.base)
		tc.break_(broken)
		assertCatches(t, tc.rule, tc.base, broken)
	}
}

// without is a plan's resources less one.
func without(resources []*offline.PlanResource, typ, name string) []*offline.PlanResource {
	return slices.DeleteFunc(resources, func(r *offline.PlanResource) bool { return r.Type == typ && r.Name == name })
}

// protectedPlans are the plans in which data must be protected: the production stack file and
// the program's defaults.
func protectedPlans(t *testing.T) map[string]*offline.Plan {
	return map[string]*offline.Plan{
		"production": planOfVariation(t, variations[0]),
		"defaults":   planOf(t, minimalConfig()),
	}
}

func TestDataIsProtectedInProductionAndByDefault(t *testing.T) {
	t.Parallel()
	for name, p := range protectedPlans(t) {
		for _, rule := range guard.DataProtection[:2] {
			for _, violation := range rule.Check(p) {
				t.Errorf("%s violated in %s: %s", rule.ID, name, violation)
			}
		}
	}
}

func TestStagingCanBeTornDown(t *testing.T) {
	t.Parallel()
	p := planOfVariation(t, variations[1])
	for _, violation := range guard.Find("DATA-03").Check(p) {
		t.Errorf("DATA-03 violated in staging: %s", violation)
	}
}
