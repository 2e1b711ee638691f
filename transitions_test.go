package main

import (
	"coldchain/internal/change"
	"coldchain/internal/offline"
	"coldchain/internal/schema"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The transition battery: every config key, changed to another valid value on the released
// shipped stacks, planned against the stack as it was (plan --against), and held to what a
// team can live with on day two. A key joins the table when it joins the program (the first
// test fails until it does).

// transition is one change of config: the key it is about and the values set.
type transition struct {
	key  string
	sets []string
	// stacks limits the transition to some stacks ("" for both): a value valid in one only.
	stacks string
}

const (
	readmeCert = "arn:aws:acm:ap-northeast-2:123456789012:certificate/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"
	drBackups  = "arn:aws:rds:ap-northeast-2:123456789012:auto-backup:ab-4l5k6j7h8g9f0e1d2c3b4a5z6y7x8w9v0u1t2s"
	otherKey   = "arn:aws:kms:ap-northeast-2:123456789012:key/6f1b6b1e-2b33-4c5e-9d0f-1a2b3c4d5e6f"
)

var transitions = []transition{
	{key: "projectName", sets: []string{"projectName=dispatch"}},
	{key: "environment", sets: []string{"environment=prod"}},
	{key: "aws:region", sets: []string{"aws:region=ap-northeast-3", "drRegion=ap-northeast-1"}},
	{key: "aws:profile", sets: []string{"aws:profile=coldchain-production"}},
	{key: "allowedAccountIds", sets: []string{`allowedAccountIds=["123456789012"]`}},
	{key: "tags", sets: []string{`tags={"CostCenter":"logistics"}`}},
	{key: "frozen", sets: []string{"frozen=failed over to production-dr"}},
	{key: "costUsage", sets: []string{`costUsage={"internetEgressGB":500}`}},
	{key: "vpcCidr", sets: []string{"vpcCidr=10.8.0.0/16"}},
	{key: "natGateways", sets: []string{"natGateways=Single"}, stacks: "production"},
	{key: "natGateways", sets: []string{"natGateways=OnePerAz"}, stacks: "staging"},
	{key: "flowLogRetentionDays", sets: []string{"flowLogRetentionDays=180"}},
	{key: "availabilityZones", sets: []string{`availabilityZones=["ap-northeast-2a","ap-northeast-2c"]`}},
	{key: "s3GatewayEndpoint", sets: []string{"s3GatewayEndpoint=false"}},
	{key: "drRegion", sets: []string{"drRegion=ap-southeast-1"}},
	{key: "accountSettingsOwner", sets: []string{"accountSettingsOwner=true"}},
	{key: "accountReplicatedRepositories", sets: []string{"accountSettingsOwner=true",
		`accountReplicatedRepositories={"ap-northeast-1":["coldchain-rehearsal/"]}`}, stacks: "production"},
	{key: "drRegion", sets: []string{"drRegion="}, stacks: "production"},
	{key: "containerInsights", sets: []string{"containerInsights=false"}, stacks: "production"},
	{key: "containerInsights", sets: []string{"containerInsights=true"}, stacks: "staging"},
	{key: "rolePermissionsBoundary", sets: []string{"rolePermissionsBoundary=coldchain-roles-boundary"}},
	{key: "workers", sets: []string{`workers=["dispatcher"]`}},
	{key: "workers", sets: withWorker, stacks: "production"},
	{key: "workers", sets: []string{`workers=["dispatcher"]`, "dispatcherImageTag=" + releaseTag, "dispatcherDataTier=true"}, stacks: "staging"},
	{key: "waf", sets: []string{"waf=false"}, stacks: "production"},
	{key: "waf", sets: []string{"waf=true"}, stacks: "staging"},
	{key: "wafRateLimit", sets: []string{"wafRateLimit=5000", "waf=true"}},
	{key: "wafMode", sets: []string{"wafMode=block", "waf=true"}},
	{key: "wafRateLimitPaths", sets: []string{`wafRateLimitPaths=["/api/auth/"]`, "waf=true"}},
	{key: "publicSubnetCidrs", sets: []string{`publicSubnetCidrs=["10.0.64.0/21","10.0.192.0/21"]`,
		`privateSubnetCidrs=["10.0.0.0/18","10.0.128.0/18"]`, `isolatedSubnetCidrs=["10.0.80.0/20","10.0.208.0/20"]`}, stacks: "production"},
	{key: "privateSubnetCidrs", sets: []string{`publicSubnetCidrs=["10.0.64.0/20","10.0.192.0/20"]`,
		`privateSubnetCidrs=["10.0.0.0/19","10.0.128.0/19"]`, `isolatedSubnetCidrs=["10.0.80.0/20","10.0.208.0/20"]`}, stacks: "production"},
	{key: "isolatedSubnetCidrs", sets: []string{`publicSubnetCidrs=["10.0.64.0/20","10.0.192.0/20"]`,
		`privateSubnetCidrs=["10.0.0.0/18","10.0.128.0/18"]`, `isolatedSubnetCidrs=["10.0.96.0/20","10.0.224.0/20"]`}, stacks: "production"},

	{key: "dbInstanceClass", sets: []string{"dbInstanceClass=db.t4g.large"}},
	{key: "dbEngineVersion", sets: []string{"dbEngineVersion=16"}},
	{key: "dbName", sets: []string{"dbName=dispatch"}},
	{key: "dbUsername", sets: []string{"dbUsername=dispatch_admin"}},
	{key: "dbAllocatedStorage", sets: []string{"dbAllocatedStorage=60"}, stacks: "production"},
	{key: "dbAllocatedStorage", sets: []string{"dbAllocatedStorage=30"}, stacks: "staging"},
	{key: "dbMaxAllocatedStorage", sets: []string{"dbMaxAllocatedStorage=300"}},
	{key: "dbParameters", sets: []string{`dbParameters={"shared_preload_libraries":"pg_stat_statements","log_min_duration_statement":"500"}`}},
	{key: "dbMultiAz", sets: []string{"dbMultiAz=false"}, stacks: "production"},
	{key: "dbMultiAz", sets: []string{"dbMultiAz=true"}, stacks: "staging"},
	{key: "dbBackupRetentionDays", sets: []string{"dbBackupRetentionDays=14"}},
	{key: "dbBackupRetentionDays", sets: []string{"dbBackupRetentionDays=35"}},
	{key: "dbBackupWindow", sets: []string{"dbBackupWindow=16:00-17:00"}},
	{key: "dbMaintenanceWindow", sets: []string{"dbMaintenanceWindow=sat:18:30-sat:19:30"}},
	{key: "dbDeletionProtection", sets: []string{"dbDeletionProtection=false"}, stacks: "production"},
	{key: "dbDeletionProtection", sets: []string{"dbDeletionProtection=true"}, stacks: "staging"},
	{key: "dbPerformanceInsights", sets: []string{"dbPerformanceInsights=false"}, stacks: "production"},
	{key: "finalSnapshot", sets: []string{"finalSnapshot=false"}, stacks: "production"},
	{key: "finalSnapshot", sets: []string{"finalSnapshot=true"}, stacks: "staging"},
	{key: "dbIdentifier", sets: []string{"dbIdentifier=coldchain-db"}},
	{key: "dbKmsKey", sets: []string{"dbKmsKey=" + otherKey}},
	{key: "dbRestoreFrom", sets: []string{"dbRestoreFrom=" + drBackups, "dbKmsKey=" + otherKey}},
	{key: "redisNodeType", sets: []string{"redisNodeType=cache.t4g.large"}},
	{key: "redisEngine", sets: []string{"redisEngine=redis", "redisEngineVersion=7.1"}},
	{key: "redisEngineVersion", sets: []string{"redisEngineVersion=8.1"}},
	{key: "redisNodes", sets: []string{"redisNodes=3"}},
	{key: "redisMultiAz", sets: []string{"redisMultiAz=false"}, stacks: "production"},
	{key: "redisAutomaticFailover", sets: []string{"redisAutomaticFailover=false", "redisMultiAz=false"}, stacks: "production"},
	{key: "redisSnapshotRetentionDays", sets: []string{"redisSnapshotRetentionDays=14"}},
	{key: "redisSnapshotWindow", sets: []string{"redisSnapshotWindow=15:00-16:00"}},
	{key: "redisMaintenanceWindow", sets: []string{"redisMaintenanceWindow=sat:20:00-sat:21:00"}},
	{key: "redisKmsKey", sets: []string{"redisKmsKey=aws-owned"}},

	{key: "uploadsBucketName", sets: []string{"uploadsBucketName=coldchain-uploads-renamed"}},
	{key: "backupsBucketName", sets: []string{"backupsBucketName=coldchain-backups-renamed"}},
	{key: "logsBucketName", sets: []string{"logsBucketName=coldchain-logs-renamed"}},
	{key: "noncurrentVersionExpirationDays", sets: []string{"noncurrentVersionExpirationDays=30"}},
	{key: "backupsArchiveAfterDays", sets: []string{"backupsArchiveAfterDays=60"}},
	{key: "logsExpirationDays", sets: []string{"logsExpirationDays=365"}},
	{key: "ecrMaxImages", sets: []string{"ecrMaxImages=50"}},
	{key: "ecrImageTagMutability", sets: []string{"ecrImageTagMutability=MUTABLE"}},
	{key: "ecrEncryption", sets: []string{"ecrEncryption=AES256"}},
	{key: "backendRepositoryName", sets: []string{"backendRepositoryName=coldchain/backend"}},
	{key: "frontendRepositoryName", sets: []string{"frontendRepositoryName=coldchain/frontend"}},

	{key: "clusterName", sets: []string{"clusterName=coldchain-cluster"}},
	{key: "containerInsights", sets: []string{"containerInsights=false"}, stacks: "production"},
	{key: "cpuArchitecture", sets: []string{"cpuArchitecture=ARM64"}, stacks: "production"},
	{key: "cpuArchitecture", sets: []string{"cpuArchitecture=ARM64", "fargateSpot=false"}, stacks: "staging"},
	{key: "fargateSpot", sets: []string{"fargateSpot=true"}, stacks: "production"},
	{key: "fargateSpot", sets: []string{"fargateSpot=false"}, stacks: "staging"},
	{key: "backendImageTag", sets: []string{"backendImageTag=" + releaseTag + "-next"}},
	{key: "frontendImageTag", sets: []string{"frontendImageTag=" + releaseTag + "-next"}},
	{key: "backendCpu", sets: []string{"backendCpu=2048", "backendMemory=4096"}},
	{key: "backendMemory", sets: []string{"backendMemory=3072"}, stacks: "production"},
	{key: "frontendCpu", sets: []string{"frontendCpu=1024", "frontendMemory=2048"}},
	{key: "frontendMemory", sets: []string{"frontendMemory=2048"}, stacks: "production"},
	{key: "backendPort", sets: []string{"backendPort=8080"}},
	{key: "frontendPort", sets: []string{"frontendPort=8080"}},
	{key: "backendHealthCheckPath", sets: []string{"backendHealthCheckPath=/healthz"}},
	{key: "frontendHealthCheckPath", sets: []string{"frontendHealthCheckPath=/index.html"}},
	{key: "backendUser", sets: []string{"backendUser=1001"}},
	{key: "frontendUser", sets: []string{"frontendUser=101", "frontendPort=8080"}},
	{key: "backendReadonlyRootFilesystem", sets: []string{"backendReadonlyRootFilesystem=false"}},
	{key: "frontendReadonlyRootFilesystem", sets: []string{"frontendReadonlyRootFilesystem=false"}},
	{key: "backendWritablePaths", sets: []string{`backendWritablePaths=["/tmp","/app/cache"]`}},
	{key: "frontendWritablePaths", sets: []string{`frontendWritablePaths=["/tmp","/var/cache/nginx","/var/run","/srv"]`}},
	{key: "backendPathPatterns", sets: []string{`backendPathPatterns=["/api/*","/ws/*"]`}},
	{key: "backendSecrets", sets: []string{`backendSecrets={"MAPS_KEY":"/coldchain/production/maps-key"}`}},
	{key: "backendManagedSecrets", sets: []string{`backendManagedSecrets=["API_KEY","WEBHOOK_SECRET"]`}},
	{key: "backendLogGroupName", sets: []string{"backendLogGroupName=/ecs/coldchain-backend"}},
	{key: "frontendLogGroupName", sets: []string{"frontendLogGroupName=/ecs/coldchain-frontend"}},
	{key: "backendServiceName", sets: []string{"backendServiceName=coldchain-backend-service"}},
	{key: "frontendServiceName", sets: []string{"frontendServiceName=coldchain-frontend-service"}},
	{key: "backendMinTasks", sets: []string{"backendMinTasks=3"}},
	{key: "backendMaxTasks", sets: []string{"backendMaxTasks=12"}},
	{key: "frontendMinTasks", sets: []string{"frontendMinTasks=3"}, stacks: "production"},
	{key: "frontendMinTasks", sets: []string{"frontendMinTasks=2"}, stacks: "staging"},
	{key: "frontendMaxTasks", sets: []string{"frontendMaxTasks=8"}},
	{key: "backendDesiredCount", sets: []string{"backendDesiredCount=3"}},
	{key: "frontendDesiredCount", sets: []string{"frontendDesiredCount=2"}},
	{key: "backendCpuTarget", sets: []string{"backendCpuTarget=60"}},
	{key: "frontendCpuTarget", sets: []string{"frontendCpuTarget=60"}},
	{key: "backendMemoryTarget", sets: []string{"backendMemoryTarget=75"}},
	{key: "frontendMemoryTarget", sets: []string{"frontendMemoryTarget=75"}},
	{key: "backendRequestsPerTarget", sets: []string{"backendRequestsPerTarget=0"}},
	{key: "backendRequestsPerTarget", sets: []string{"backendRequestsPerTarget=500"}},
	{key: "scaleInCooldownSeconds", sets: []string{"scaleInCooldownSeconds=600"}},
	{key: "scaleOutCooldownSeconds", sets: []string{"scaleOutCooldownSeconds=30"}},
	{key: "deregistrationDelaySeconds", sets: []string{"deregistrationDelaySeconds=60"}},
	{key: "healthCheckGracePeriodSeconds", sets: []string{"healthCheckGracePeriodSeconds=120"}},

	{key: "domainName", sets: []string{"domainName=dispatch.example.com"}},
	{key: "hostedZoneId", sets: []string{"domainName=dispatch.example.com", "hostedZoneId=Z0123456789ABCDEFGHIJ"}},
	{key: "hostedZoneName", sets: []string{"domainName=dispatch.eu.example.com", "hostedZoneName=example.com"}},
	{key: "certificateArn", sets: []string{"certificateArn=" + readmeCert}},
	{key: "allowPlainHttp", sets: []string{"allowPlainHttp=true"}},
	{key: "takeOverDomain", sets: []string{"domainName=dispatch.example.com", "takeOverDomain=true"}},
	{key: "albDeletionProtection", sets: []string{"albDeletionProtection=false"}, stacks: "production"},
	{key: "albDeletionProtection", sets: []string{"albDeletionProtection=true"}, stacks: "staging"},

	{key: "alarmEmail", sets: []string{"alarmEmail=oncall@example.org"}},
	{key: "alarmMinHealthyTargets", sets: []string{"alarmMinHealthyTargets=2"}},
	{key: "alarmHttp5xxPer5Minutes", sets: []string{"alarmHttp5xxPer5Minutes=25"}},
	{key: "alarmDbCpuPercent", sets: []string{"alarmDbCpuPercent=70"}},
	{key: "alarmDbFreeStorageGb", sets: []string{"alarmDbFreeStorageGb=8"}},
	{key: "alarmDbConnections", sets: []string{"alarmDbConnections=120"}},
	{key: "alarmRedisCpuPercent", sets: []string{"alarmRedisCpuPercent=80"}},
	{key: "alarmRedisMemoryPercent", sets: []string{"alarmRedisMemoryPercent=85"}},
	{key: "alarmWafBlockedPer5Minutes", sets: []string{"alarmWafBlockedPer5Minutes=500"}, stacks: "production"},
	{key: "alarmServiceCpuPercent", sets: []string{"alarmServiceCpuPercent=85"}},
	{key: "alarmServiceMemoryPercent", sets: []string{"alarmServiceMemoryPercent=85"}},
	{key: "alarmResponseTimeP95Seconds", sets: []string{"alarmResponseTimeP95Seconds=1.5"}},

	{key: "protect", sets: []string{"protect=false"}, stacks: "production"},
	{key: "protect", sets: []string{"protect=true"}, stacks: "staging"},
	{key: "forceDestroy", sets: []string{"forceDestroy=true"}, stacks: "production"},
	{key: "forceDestroy", sets: []string{"forceDestroy=false"}, stacks: "staging"},
	{key: "logRetentionDays", sets: []string{"logRetentionDays=90"}},
	{key: "kmsDeletionWindowDays", sets: []string{"kmsDeletionWindowDays=14"}},
	{key: "secretRecoveryDays", sets: []string{"secretRecoveryDays=0"}},
}

// transitionStacks are the shipped stacks the battery changes, released.
var transitionStacks = []string{"production", "staging"}

// transitionResult is what one transition does to one stack.
type transitionResult struct {
	tr      transition
	stack   string
	preview *change.Preview
	err     error
}

var (
	transitionsOnce    sync.Once
	transitionResults  []transitionResult
	transitionBaseline = map[string]*offline.Plan{}
)

// runTransitions plans every transition against its stack once per test binary.
func runTransitions(t *testing.T) []transitionResult {
	t.Helper()
	transitionsOnce.Do(func() {
		for _, stack := range transitionStacks {
			transitionBaseline[stack] = planOfFile(t, stack)
		}
		raws := map[string]map[string]string{}
		for _, stack := range transitionStacks {
			raw, err := offline.LoadStackConfig(".", project, stack)
			if err != nil {
				t.Fatal(err)
			}
			raws[stack] = with(raw, released()...)
		}
		results := make([]transitionResult, 0, 2*len(transitions))
		for _, tr := range transitions {
			for _, stack := range transitionStacks {
				if tr.stacks == "" || tr.stacks == stack {
					results = append(results, transitionResult{tr: tr, stack: stack})
				}
			}
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i := range results {
			wg.Add(1)
			sem <- struct{}{}
			go func(r *transitionResult) {
				defer func() { <-sem; wg.Done() }()
				after, err := plannedOnce(r.stack, with(raws[r.stack], r.tr.sets...))
				if err != nil {
					r.err = err
					return
				}
				r.preview = change.Compute(transitionBaseline[r.stack], after)
			}(&results[i])
		}
		wg.Wait()
		transitionResults = results
	})
	return transitionResults
}

// TestEveryConfigKeyHasATransition keeps the battery whole: a key the program reads and the
// battery does not change is a change nobody has looked at.
func TestEveryConfigKeyHasATransition(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, tr := range transitions {
		covered[tr.key] = true
	}
	for _, key := range configKeys(project) {
		if !covered[key] {
			t.Errorf("config key %s has no row in the transition battery (transitions_test.go)", key)
		}
	}
	for key := range covered {
		if !slices.Contains(configKeys(project), key) {
			t.Errorf("the transition battery changes %s, which the program does not read", key)
		}
	}
}

// TestEveryTransitionPlansAndChangesSomething: each row is valid config for its stacks, and
// each changes the plan (a row that changes nothing tests nothing).
func TestEveryTransitionPlansAndChangesSomething(t *testing.T) {
	t.Parallel()
	for _, r := range runTransitions(t) {
		name := r.stack + "/" + strings.Join(r.tr.sets, ",")
		if r.err != nil {
			t.Errorf("%s: %v", name, r.err)
			continue
		}
		if len(r.preview.Changed()) == 0 && !noPlannedChange[r.tr.key] {
			t.Errorf("%s changes nothing in the plan", name)
		}
	}
}

// noPlannedChange are keys whose change the plan does not show, each for a reason.
var noPlannedChange = map[string]bool{
	// Only what "pulumi up" refuses changes: plain HTTP on a protected stack.
	"allowPlainHttp": true,
	// The desired count is the count a service is created with: autoscaling owns it after
	// (ignoreChanges).
	"backendDesiredCount": true, "frontendDesiredCount": true,
	// Protection is an option the engine records in the state; no resource changes.
	"protect": true,
	// A frozen stack is one "pulumi up" refuses to change at all.
	"frozen": true,
	// Only "go run . cost" reads it.
	"costUsage": true,
}

// TestNoTransitionLosesDataOrTakesTheServiceDown holds every transition of the battery to:
//   - a resource that holds data or copies of it is replaced or deleted only where the stack
//     protects it, so that "pulumi up" stops before it; README's "Changing a stack" says how
//     each change is done that stops there, or that replaces the network the data lives in;
//   - a replacement that keeps what names the resource in AWS (its name, or the one thing it
//     exists once for) deletes the old one first: created first, its create would collide with
//     the old one, or the old one's delete would undo it;
//   - no change replaces both services delete-first at once: both tiers down.
func TestNoTransitionLosesDataOrTakesTheServiceDown(t *testing.T) {
	t.Parallel()
	changing := readmeSection(t, "## Changing a stack")
	for _, r := range runTransitions(t) {
		if r.err != nil {
			continue // reported by TestEveryTransitionPlansAndChangesSomething
		}
		name := r.stack + ": " + strings.Join(r.tr.sets, ", ")
		before := transitionBaseline[r.stack]
		var servicesDown []string
		dangerous := false
		for _, s := range r.preview.Steps {
			if s.Op != change.OpReplace && s.Op != change.OpDelete {
				continue
			}
			if s.Keep && !s.Protected && !s.RetainOnDelete && r.stack == "production" && !network[s.Type] {
				t.Errorf("%s: %s %s is %sd unprotected (%s)", name, s.Type, s.Name, s.Op, strings.Join(s.ReplaceReasons, ", "))
			}
			if s.Protected || (s.Keep && !s.RetainOnDelete && r.stack == "production") {
				dangerous = true
			}
			if s.Op == change.OpReplace && !s.DeleteBeforeReplace {
				if same := keepsIdentity(before, r.preview, s); same != "" {
					t.Errorf("%s: %s %s is replaced create-first but keeps its %s: delete it first", name, s.Type, s.Name, same)
				}
			}
			if s.Type == "aws:ecs/service:Service" && (s.Op == change.OpDelete || s.DeleteBeforeReplace) {
				servicesDown = append(servicesDown, s.Name)
			}
		}
		if len(servicesDown) > 1 {
			t.Errorf("%s: takes %s down at once (replaced delete-first)", name, strings.Join(servicesDown, " and "))
		}
		if dangerous && !strings.Contains(changing, "`"+r.tr.key+"`") {
			t.Errorf("%s: replaces what holds data or the network it lives in, and README's \"Changing a stack\" does "+
				"not say how to change %s", name, r.tr.key)
		}
	}
}

// network are the types data lives in without holding it: the schema table keeps them (adopt
// never replaces them), but the program does not protect them, since what a change of the
// network would lose is protected where it lives; README says how the network is changed.
var network = map[string]bool{"aws:ec2/vpc:Vpc": true, "aws:ec2/subnet:Subnet": true}

// keepsIdentity is what a replaced resource keeps that names it in AWS (its name, or the
// parent it exists once for), "" when its replacement is another resource in AWS.
func keepsIdentity(before *offline.Plan, p *change.Preview, s *change.Step) string {
	typ, ok := schema.Lookup(s.Type)
	if !ok {
		return ""
	}
	keys := typ.Identity
	if len(keys) == 0 && typ.Autonamed != "" {
		keys = []string{typ.Autonamed}
	}
	if typ.OnePer != "" {
		keys = []string{typ.OnePer}
	}
	if slices.Contains(s.ReplaceReasons, "provider") {
		return "" // another region: names are the region's
	}
	old := before.ByURN(s.URN)
	if s.OldURN != "" {
		old = before.ByURN(s.OldURN)
	}
	if old == nil || len(keys) == 0 {
		return ""
	}
	for _, key := range keys {
		if _, set := old.Inputs[key]; !set {
			return "" // autonamed: the replacement gets another name
		}
		if _, changed := s.DetailedDiff[key]; changed {
			return ""
		}
	}
	return fmt.Sprintf("%s (%v)", strings.Join(keys, ", "), identityValues(old, keys))
}

func identityValues(r *offline.PlanResource, keys []string) []any {
	var out []any
	for _, k := range keys {
		out = append(out, r.Inputs[k])
	}
	return out
}
