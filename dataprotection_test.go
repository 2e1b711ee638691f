package main

import (
	"coldchain/internal/offline"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// stateful lists the resources whose loss loses data, by type and logical name.
var stateful = []struct{ typ, name string }{
	{dbType, "postgres"}, {redisType, "redis"}, {bucketType, "uploads"}, {bucketType, "backups"},
	{repoType, "backend"}, {repoType, "frontend"}, {kmsKeyType, "data"}, {kmsKeyType, "alarms"},
	{secretType, "redis-auth"},
}

var dataProtectionRules = []guardRule{
	{"DATA-01", "RDS.8, ELB.6, data protection",
		"In production (and by default) every stateful resource is protected against pulumi destroy, and the database and load balancer have deletion protection.",
		checkProtected},
	{"DATA-02", "RDS.11, ElastiCache.1, S3.14",
		"In production (and by default) destroy keeps what it can: a final database and cache snapshot, automated backups, versioned buckets that are not emptied, repositories that are not force-deleted, a 30-day window for keys and secrets.",
		checkDestroyKeepsData},
	{"DATA-03", "disposable environments",
		"In staging nothing is protected and destroy can remove everything.",
		checkNothingProtected},
	{"DATA-04", "restorable backups",
		"Every snapshot or backup that outlives a destroy stays restorable: the key that encrypts it is kept by the destroy too.",
		checkRetainedDataStaysReadable},
}

func TestRetainedDataStaysReadableInEveryVariation(t *testing.T) {
	checkVariations(t, dataProtectionRules[3:])
	// And where nothing outlives the stack, the key does not either.
	assert.Empty(t, checkRetainedDataStaysReadable(planOfVariation(t, variations[1])))

	broken := clonePlan(t, planOfVariation(t, variations[0]))
	broken.One(t, kmsKeyType, "data").RetainOnDelete = false
	assert.NotEmpty(t, checkRetainedDataStaysReadable(broken), "DATA-04 does not notice a key deleted under its snapshots")
}

// checkRetainedDataStaysReadable finds what a destroy leaves behind encrypted with a key that
// the destroy deletes: after the key's deletion window, it could never be restored.
func checkRetainedDataStaysReadable(p *offline.Plan) []string {
	var v []string
	keys := map[any]*offline.PlanResource{}
	for _, k := range p.All(kmsKeyType) {
		keys[k.Outputs["arn"]] = k
	}
	keptBy := func(r *offline.PlanResource, what string) {
		key := keys[r.Inputs["kmsKeyId"]]
		switch {
		case key == nil:
			v = append(v, fmt.Sprintf("%s %s: %s encrypted with a key not in the stack", r.Type, r.Name, what))
		case !key.RetainOnDelete:
			v = append(v, fmt.Sprintf("%s %s: %s outlives the stack, but destroy deletes its key %s", r.Type, r.Name, what, key.Name))
		}
	}
	for _, r := range p.All(dbType) {
		if !r.Flag("skipFinalSnapshot") {
			keptBy(r, "the final snapshot")
		}
		if !r.Flag("deleteAutomatedBackups") {
			keptBy(r, "the automated backups")
		}
	}
	for _, r := range p.All(redisType) {
		if r.In("finalSnapshotIdentifier") != "" {
			keptBy(r, "the final snapshot")
		}
	}
	return v
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
	for name, p := range protectedPlans(t) {
		for _, rule := range dataProtectionRules[:2] {
			for _, violation := range rule.check(p) {
				t.Errorf("%s violated in %s: %s", rule.id, name, violation)
			}
		}
	}
}

func TestStagingCanBeTornDown(t *testing.T) {
	p := planOfVariation(t, variations[1])
	for _, violation := range dataProtectionRules[2].check(p) {
		t.Errorf("DATA-03 violated in staging: %s", violation)
	}
}

func checkProtected(p *offline.Plan) []string {
	var v []string
	for _, s := range stateful {
		r := p.Find(s.typ, s.name)
		if r == nil {
			v = append(v, fmt.Sprintf("%s %s is not in the plan", s.typ, s.name))
		} else if !r.Protect {
			v = append(v, fmt.Sprintf("%s %s is not protected", s.typ, s.name))
		}
	}
	for name, on := range deletionProtection(p) {
		if !on {
			v = append(v, name+": no deletion protection")
		}
	}
	for _, r := range p.All(secretType) {
		if !r.Protect {
			v = append(v, fmt.Sprintf("%s %s is not protected", r.Type, r.Name))
		}
	}
	return v
}

// deletionProtection is whether AWS itself refuses to delete the database and the load
// balancer, by resource.
func deletionProtection(p *offline.Plan) map[string]bool {
	on := map[string]bool{}
	for _, r := range p.All(dbType) {
		on[r.Type+" "+r.Name] = r.Flag("deletionProtection")
	}
	for _, r := range p.All(albType) {
		on[r.Type+" "+r.Name] = r.Flag("enableDeletionProtection")
	}
	return on
}

func checkDestroyKeepsData(p *offline.Plan) []string {
	var v []string
	for _, r := range p.All(dbType) {
		if r.Flag("skipFinalSnapshot") || r.In("finalSnapshotIdentifier") == "" {
			v = append(v, r.Name+": no final snapshot")
		}
		if r.Flag("deleteAutomatedBackups") || r.Num("backupRetentionPeriod") < 7 {
			v = append(v, r.Name+": automated backups do not outlive the instance for 7 days")
		}
	}
	for _, r := range p.All(redisType) {
		if r.In("finalSnapshotIdentifier") == "" || r.Num("snapshotRetentionLimit") < 1 {
			v = append(v, r.Name+": no final snapshot")
		}
	}
	versioned := map[string]bool{}
	for _, r := range p.All("aws:s3/bucketVersioningV2:BucketVersioningV2") {
		versioned[r.In("bucket")] = r.Obj("versioningConfiguration")["status"] == "Enabled"
	}
	for _, b := range p.All(bucketType) {
		if b.Flag("forceDestroy") {
			v = append(v, b.Name+": destroy empties the bucket")
		}
		if !versioned[b.In("bucket")] {
			v = append(v, b.Name+": not versioned")
		}
	}
	for _, r := range p.All(repoType) {
		if r.Flag("forceDelete") {
			v = append(v, r.Name+": destroy deletes the images")
		}
	}
	for _, k := range p.All(kmsKeyType) {
		if k.Num("deletionWindowInDays") < 30 {
			v = append(v, fmt.Sprintf("%s: key deleted after %v days", k.Name, k.Num("deletionWindowInDays")))
		}
	}
	for _, s := range p.All(secretType) {
		if s.Num("recoveryWindowInDays") < 30 {
			v = append(v, fmt.Sprintf("%s: secret recoverable for %v days only", s.Name, s.Num("recoveryWindowInDays")))
		}
	}
	return v
}

func checkNothingProtected(p *offline.Plan) []string {
	var v []string
	for _, r := range p.Resources {
		if r.Protect {
			v = append(v, r.Type+" "+r.Name+" is protected")
		}
		if r.RetainOnDelete {
			v = append(v, r.Type+" "+r.Name+" outlives a destroy")
		}
	}
	for name, on := range deletionProtection(p) {
		if on {
			v = append(v, name+": deletion protection")
		}
	}
	for _, b := range p.All(bucketType) {
		if !b.Flag("forceDestroy") {
			v = append(v, b.Name+": destroy fails on a bucket with objects")
		}
	}
	for _, r := range p.All(repoType) {
		if !r.Flag("forceDelete") {
			v = append(v, r.Name+": destroy fails on a repository with images")
		}
	}
	return v
}
