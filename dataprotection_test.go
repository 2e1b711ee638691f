package main

import (
	"coldchain/internal/offline"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	{"DATA-05", "regional disaster recovery",
		"With drRegion, everything the stack cannot rebuild has a copy in the DR region, encrypted with a key there: the database's automated backups, the data buckets, the image repositories and the secrets the team fills. The cache, rebuilt from the database, and generated secrets are not copied.",
		checkCopiesInTheDRRegion},
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
	for _, r := range p.All(backupsCopyType) {
		for _, db := range p.All(dbType) {
			if db.Outputs["arn"] == r.Inputs["sourceDbInstanceArn"] && !db.Flag("deleteAutomatedBackups") {
				keptBy(r, "the replicated automated backups")
			}
		}
	}
	return v
}

const backupsCopyType = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"

// checkCopiesInTheDRRegion finds, in a plan with a provider for another region than the
// stack's, each store the stack cannot rebuild that has no copy there.
func checkCopiesInTheDRRegion(p *offline.Plan) []string {
	home := p.Find("pulumi:providers:aws", "aws")
	if home == nil {
		return []string{"no provider for the stack's region"}
	}
	region := map[string]string{}
	for _, provider := range p.All("pulumi:providers:aws") {
		if provider != home {
			region[provider.URN+"::"+provider.ID] = provider.In("region")
		}
	}
	if len(region) == 0 {
		return nil // no DR region
	}
	elsewhere := func(r *offline.PlanResource) bool {
		return region[r.Provider] != "" && region[r.Provider] != home.In("region")
	}
	keys := map[any]bool{}
	for _, k := range p.All(kmsKeyType) {
		keys[k.Outputs["arn"]] = elsewhere(k)
	}
	var v []string
	for _, db := range p.All(dbType) {
		copied := false
		for _, c := range p.All(backupsCopyType) {
			copied = copied || (c.Inputs["sourceDbInstanceArn"] == db.Outputs["arn"] && elsewhere(c) && keys[c.Inputs["kmsKeyId"]] &&
				c.Num("retentionPeriod") >= db.Num("backupRetentionPeriod"))
		}
		if !copied {
			v = append(v, db.Name+": no copy of the automated backups, for as long as they are kept, in the DR region with a key there")
		}
	}
	replicaBuckets := map[any]bool{}
	for _, b := range p.All(bucketType) {
		if elsewhere(b) {
			replicaBuckets[b.Outputs["arn"]] = true
		}
	}
	logs := map[string]bool{}
	for _, l := range p.All("aws:s3/bucketLoggingV2:BucketLoggingV2") {
		logs[l.In("targetBucket")] = true
	}
	for _, b := range p.All(bucketType) {
		if elsewhere(b) || logs[b.In("bucket")] { // access logs are not data
			continue
		}
		copied := false
		for _, c := range p.All("aws:s3/bucketReplicationConfig:BucketReplicationConfig") {
			if c.In("bucket") != b.In("bucket") {
				continue
			}
			for _, rule := range c.List("rules") {
				rule := rule.(map[string]any)
				destination, _ := rule["destination"].(map[string]any)
				encryption, _ := destination["encryptionConfiguration"].(map[string]any)
				criteria, _ := rule["sourceSelectionCriteria"].(map[string]any)
				copied = copied || (rule["status"] == "Enabled" && replicaBuckets[destination["bucket"]] &&
					keys[encryption["replicaKmsKeyId"]] && criteria["sseKmsEncryptedObjects"] != nil)
			}
		}
		if !copied {
			v = append(v, b.Name+": no replication of its KMS-encrypted objects to a bucket in the DR region with a key there")
		}
	}
	replicaRepos := map[string]bool{}
	for _, r := range p.All(repoType) {
		if elsewhere(r) && keys[r.List("encryptionConfigurations")[0].(map[string]any)["kmsKey"]] {
			replicaRepos[r.In("name")] = true
		}
	}
	for _, r := range p.All(repoType) {
		if elsewhere(r) {
			continue
		}
		replicated := false
		for _, c := range p.All("aws:ecr/replicationConfiguration:ReplicationConfiguration") {
			for _, rule := range c.Obj("replicationConfiguration")["rules"].([]any) {
				rule := rule.(map[string]any)
				toDR, covers := false, false
				for _, d := range rule["destinations"].([]any) {
					toDR = toDR || slices.Contains(slices.Collect(maps.Values(region)), d.(map[string]any)["region"].(string))
				}
				for _, f := range rule["repositoryFilters"].([]any) {
					covers = covers || strings.HasPrefix(r.In("name"), f.(map[string]any)["filter"].(string))
				}
				replicated = replicated || (toDR && covers)
			}
		}
		if !replicated || !replicaRepos[r.In("name")] {
			v = append(v, r.Name+": its images are not replicated into a repository of the DR region encrypted with a key there")
		}
	}
	generated := map[string]bool{}
	for _, version := range p.All("aws:secretsmanager/secretVersion:SecretVersion") {
		generated[version.In("secretId")] = true
	}
	for _, s := range p.All(secretType) {
		if generated[s.Outputs["arn"].(string)] || generated[s.ID] {
			continue
		}
		copied := false
		for _, replica := range s.List("replicas") {
			replica := replica.(map[string]any)
			copied = copied || (slices.Contains(slices.Collect(maps.Values(region)), replica["region"].(string)) && keys[replica["kmsKeyId"]])
		}
		if !copied {
			v = append(v, s.Name+": a secret the team fills has no replica in the DR region with a key there")
		}
	}
	return v
}

func TestDRRuleCatchesEveryStoreWithoutACopy(t *testing.T) {
	base := planOfVariation(t, variations[0])
	require.Empty(t, checkCopiesInTheDRRegion(base))
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
		broken := clonePlan(t, base)
		break_(broken)
		assert.NotEmptyf(t, checkCopiesInTheDRRegion(broken), "DATA-05 does not notice: %s", name)
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
