package guard

import (
	"coldchain/internal/plan"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// stateful lists the resources whose loss loses data, by type and logical name.
var stateful = []struct{ typ, name string }{
	{DbType, "postgres"}, {RedisType, "redis"}, {BucketType, "uploads"}, {BucketType, "backups"},
	{RepoType, "backend"}, {RepoType, "frontend"}, {KmsKeyType, "data"}, {KmsKeyType, "alarms"},
	{SecretType, "redis-auth"},
}

// DataProtection are the DATA rules: what protects the stack's data from a destroy, a
// mistake and the loss of a region.
var DataProtection = []Rule{
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

// checkRetainedDataStaysReadable finds what a destroy leaves behind encrypted with a key that
// the destroy deletes: after the key's deletion window, it could never be restored.
func checkRetainedDataStaysReadable(p *plan.Plan) []string {
	var v []string
	keys := map[any]*plan.PlanResource{}
	for _, k := range p.All(KmsKeyType) {
		keys[k.Outputs["arn"]] = k
	}
	keptBy := func(r *plan.PlanResource, what string) {
		key := keys[r.Inputs["kmsKeyId"]]
		switch {
		case key == nil:
			v = append(v, fmt.Sprintf("%s %s: %s encrypted with a key not in the stack", r.Type, r.Name, what))
		case !key.RetainOnDelete:
			v = append(v, fmt.Sprintf("%s %s: %s outlives the stack, but destroy deletes its key %s", r.Type, r.Name, what, key.Name))
		}
	}
	for _, r := range p.All(DbType) {
		if !r.Flag("skipFinalSnapshot") {
			keptBy(r, "the final snapshot")
		}
		if !r.Flag("deleteAutomatedBackups") {
			keptBy(r, "the automated backups")
		}
	}
	for _, r := range p.All(RedisType) {
		if r.In("finalSnapshotIdentifier") != "" {
			keptBy(r, "the final snapshot")
		}
	}
	for _, r := range p.All(BackupsCopyType) {
		for _, db := range p.All(DbType) {
			if !differs(db.Outputs["arn"], r.Inputs["sourceDbInstanceArn"]) && !db.Flag("deleteAutomatedBackups") {
				keptBy(r, "the replicated automated backups")
			}
		}
	}
	return v
}

// checkCopiesInTheDRRegion finds, in a plan with a provider for another region than the
// stack's, each store the stack cannot rebuild that has no copy there.
func checkCopiesInTheDRRegion(p *plan.Plan) []string {
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
	elsewhere := func(r *plan.PlanResource) bool {
		return region[r.Provider] != "" && region[r.Provider] != home.In("region")
	}
	keys := map[any]bool{}
	for _, k := range p.All(KmsKeyType) {
		keys[k.Outputs["arn"]] = elsewhere(k)
	}
	isDRKey := func(ref any) bool { return keys[ref] || unresolved(p, ref, KmsKeyType) }
	var v []string
	for _, db := range p.All(DbType) {
		copied := false
		for _, c := range p.All(BackupsCopyType) {
			copied = copied || (!differs(c.Inputs["sourceDbInstanceArn"], db.Outputs["arn"]) && elsewhere(c) && isDRKey(c.Inputs["kmsKeyId"]) &&
				c.Num("retentionPeriod") >= db.Num("backupRetentionPeriod"))
		}
		if !copied {
			v = append(v, db.Name+": no copy of the automated backups, for as long as they are kept, in the DR region with a key there")
		}
	}
	replicaBuckets := map[any]bool{}
	for _, b := range p.All(BucketType) {
		if elsewhere(b) {
			replicaBuckets[b.Outputs["arn"]] = true
		}
	}
	// A bucket that receives access logs is not data. A preview may not tell which bucket
	// that is, nor which bucket a replication is of: then a bucket without a replication of its
	// own may be the logs', and any replication may be its.
	buckets := refs(p.All(BucketType), "bucket", "arn")
	logs, logsUnresolved := map[*plan.PlanResource]bool{}, false
	for _, l := range p.All("aws:s3/bucketLoggingV2:BucketLoggingV2") {
		logs[buckets[l.Inputs["targetBucket"]]] = true
		logsUnresolved = logsUnresolved || unresolved(p, l.Inputs["targetBucket"], BucketType)
	}
	for _, b := range p.All(BucketType) {
		if elsewhere(b) || logs[b] {
			continue
		}
		copied, configs := false, 0
		for _, c := range p.All("aws:s3/bucketReplicationConfig:BucketReplicationConfig") {
			if buckets[c.Inputs["bucket"]] != b && !unresolved(p, c.Inputs["bucket"], BucketType) {
				continue
			}
			configs++
			for _, rule := range c.List("rules") {
				rule := obj(rule)
				destination := obj(rule["destination"])
				encryption := obj(destination["encryptionConfiguration"])
				criteria := obj(rule["sourceSelectionCriteria"])
				copied = copied || (rule["status"] == "Enabled" && (replicaBuckets[destination["bucket"]] || unresolved(p, destination["bucket"], BucketType)) &&
					isDRKey(encryption["replicaKmsKeyId"]) && criteria["sseKmsEncryptedObjects"] != nil)
			}
		}
		if !copied && !(logsUnresolved && configs == 0) {
			v = append(v, b.Name+": no replication of its KMS-encrypted objects to a bucket in the DR region with a key there")
		}
	}
	replicaRepos := map[string]bool{}
	for _, r := range p.All(RepoType) {
		if elsewhere(r) && isDRKey(first(r.List("encryptionConfigurations"))["kmsKey"]) {
			replicaRepos[r.In("name")] = true
		}
	}
	// A stack that does not own its account's settings (no AccountSettings component) declares
	// no registry replication: the account stack's does, for every stack of the account (its
	// own tests hold it), and this rule checks the replicas the images go to.
	ownsReplication := len(p.All("coldchain:index:AccountSettings")) > 0
	for _, r := range p.All(RepoType) {
		if elsewhere(r) {
			continue
		}
		replicated := !ownsReplication
		for _, c := range p.All("aws:ecr/replicationConfiguration:ReplicationConfiguration") {
			for _, rule := range list(c.Obj("replicationConfiguration")["rules"]) {
				rule := obj(rule)
				toDR, covers := false, false
				for _, d := range list(rule["destinations"]) {
					toDR = toDR || slices.Contains(slices.Collect(maps.Values(region)), str(obj(d)["region"]))
				}
				for _, f := range list(rule["repositoryFilters"]) {
					filter := obj(f)["filter"]
					covers = covers || !known(filter) || strings.HasPrefix(r.In("name"), str(filter))
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
	for _, s := range p.All(SecretType) {
		if generated[str(s.Outputs["arn"])] || generated[s.ID] {
			continue
		}
		copied := false
		for _, replica := range s.List("replicas") {
			replica := obj(replica)
			copied = copied || (slices.Contains(slices.Collect(maps.Values(region)), str(replica["region"])) && isDRKey(replica["kmsKeyId"]))
		}
		if !copied {
			v = append(v, s.Name+": a secret the team fills has no replica in the DR region with a key there")
		}
	}
	return v
}

func checkProtected(p *plan.Plan) []string {
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
	for _, r := range p.All(SecretType) {
		if !r.Protect {
			v = append(v, fmt.Sprintf("%s %s is not protected", r.Type, r.Name))
		}
	}
	return v
}

// deletionProtection is whether AWS itself refuses to delete the database and the load
// balancer, by resource.
func deletionProtection(p *plan.Plan) map[string]bool {
	on := map[string]bool{}
	for _, r := range p.All(DbType) {
		on[r.Type+" "+r.Name] = r.Flag("deletionProtection")
	}
	for _, r := range p.All(AlbType) {
		on[r.Type+" "+r.Name] = r.Flag("enableDeletionProtection")
	}
	return on
}

func checkDestroyKeepsData(p *plan.Plan) []string {
	var v []string
	for _, r := range p.All(DbType) {
		if r.Flag("skipFinalSnapshot") || r.In("finalSnapshotIdentifier") == "" {
			v = append(v, r.Name+": no final snapshot")
		}
		if r.Flag("deleteAutomatedBackups") || r.Num("backupRetentionPeriod") < 7 {
			v = append(v, r.Name+": automated backups do not outlive the instance for 7 days")
		}
	}
	for _, r := range p.All(RedisType) {
		if r.In("finalSnapshotIdentifier") == "" || r.Num("snapshotRetentionLimit") < 1 {
			v = append(v, r.Name+": no final snapshot")
		}
	}
	buckets := refs(p.All(BucketType), "bucket", "arn")
	versioned := map[*plan.PlanResource]bool{}
	for _, r := range p.All("aws:s3/bucketVersioningV2:BucketVersioningV2") {
		versioned[buckets[r.Inputs["bucket"]]] = r.Obj("versioningConfiguration")["status"] == "Enabled"
	}
	for _, b := range p.All(BucketType) {
		if b.Flag("forceDestroy") {
			v = append(v, b.Name+": destroy empties the bucket")
		}
		if !versioned[b] {
			v = append(v, b.Name+": not versioned")
		}
	}
	for _, r := range p.All(RepoType) {
		if r.Flag("forceDelete") {
			v = append(v, r.Name+": destroy deletes the images")
		}
	}
	for _, k := range p.All(KmsKeyType) {
		if k.Num("deletionWindowInDays") < 30 {
			v = append(v, fmt.Sprintf("%s: key deleted after %v days", k.Name, k.Num("deletionWindowInDays")))
		}
	}
	for _, s := range p.All(SecretType) {
		if s.Num("recoveryWindowInDays") < 30 {
			v = append(v, fmt.Sprintf("%s: secret recoverable for %v days only", s.Name, s.Num("recoveryWindowInDays")))
		}
	}
	return v
}

func checkNothingProtected(p *plan.Plan) []string {
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
	for _, b := range p.All(BucketType) {
		if !b.Flag("forceDestroy") {
			v = append(v, b.Name+": destroy fails on a bucket with objects")
		}
	}
	for _, r := range p.All(RepoType) {
		if !r.Flag("forceDelete") {
			v = append(v, r.Name+": destroy fails on a repository with images")
		}
	}
	return v
}
