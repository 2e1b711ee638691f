package main

import (
	"coldchain/internal/offline"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// planDifferences lists how plan b differs from plan a, resource by resource, once b's
// environment name is read as a's: "<type> <name> <input>: <a> -> <b>", "protect" included.
// Long documents (policies, dashboards) are named without their values.
func planDifferences(a, b *offline.Plan, bEnv, aEnv string) []string {
	norm := func(v any) string {
		j, _ := json.Marshal(v)
		return strings.ReplaceAll(string(j), bEnv, aEnv)
	}
	key := func(r *offline.PlanResource) string { return r.Type + " " + r.Name }
	index := func(p *offline.Plan) map[string]*offline.PlanResource {
		m := map[string]*offline.PlanResource{}
		for _, r := range p.Resources {
			m[key(r)] = r
		}
		return m
	}
	as, bs := index(a), index(b)
	var diffs []string
	for k, ra := range as {
		rb, ok := bs[k]
		if !ok {
			diffs = append(diffs, k+": only in "+a.Stack)
			continue
		}
		if ra.Protect != rb.Protect {
			diffs = append(diffs, fmt.Sprintf("%s protect: %v -> %v", k, ra.Protect, rb.Protect))
		}
		if ra.RetainOnDelete != rb.RetainOnDelete {
			diffs = append(diffs, fmt.Sprintf("%s retainOnDelete: %v -> %v", k, ra.RetainOnDelete, rb.RetainOnDelete))
		}
		fields := map[string]bool{}
		for f := range ra.Inputs {
			fields[f] = true
		}
		for f := range rb.Inputs {
			fields[f] = true
		}
		for f := range fields {
			va, vb := norm(ra.Inputs[f]), norm(rb.Inputs[f])
			if va == vb {
				continue
			}
			if len(va) > 120 || len(vb) > 120 {
				diffs = append(diffs, fmt.Sprintf("%s %s: differs", k, f))
			} else {
				diffs = append(diffs, fmt.Sprintf("%s %s: %s -> %s", k, f, va, vb))
			}
		}
	}
	for k := range bs {
		if _, ok := as[k]; !ok {
			diffs = append(diffs, k+": only in "+b.Stack)
		}
	}
	sort.Strings(diffs)
	return diffs
}

// stagingDifferences is README's "Environments" table as the plan shows it: every line is a
// config value of Pulumi.staging.yaml, none an "if staging" in code.
var stagingDifferences = []string{
	// waf: staging has no firewall
	`aws:cloudwatch/logGroup:LogGroup waf: only in production`,
	`aws:cloudwatch/metricAlarm:MetricAlarm waf-blocked: only in production`,
	`aws:wafv2/webAcl:WebAcl waf: only in production`,
	`aws:wafv2/webAclAssociation:WebAclAssociation waf: only in production`,
	`aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration waf: only in production`,
	`coldchain:index:Firewall firewall: only in production`,
	// drRegion: staging keeps no copies in another region
	`aws:ecr/lifecyclePolicy:LifecyclePolicy backend-dr: only in production`,
	`aws:ecr/lifecyclePolicy:LifecyclePolicy frontend-dr: only in production`,
	`aws:ecr/repository:Repository backend-dr: only in production`,
	`aws:ecr/repository:Repository frontend-dr: only in production`,
	`aws:iam/role:Role replication: only in production`,
	`aws:cloudwatch/metricAlarm:MetricAlarm backups-replication-failed: only in production`,
	`aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2 logs-dr: only in production`,
	`aws:s3/bucketLoggingV2:BucketLoggingV2 backups-dr: only in production`,
	`aws:s3/bucketLoggingV2:BucketLoggingV2 uploads-dr: only in production`,
	`aws:s3/bucketOwnershipControls:BucketOwnershipControls logs-dr: only in production`,
	`aws:s3/bucketPolicy:BucketPolicy logs-dr: only in production`,
	`aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock logs-dr: only in production`,
	`aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2 logs-dr: only in production`,
	`aws:s3/bucketV2:BucketV2 logs-dr: only in production`,
	`aws:s3/bucketVersioningV2:BucketVersioningV2 logs-dr: only in production`,
	`aws:cloudwatch/metricAlarm:MetricAlarm uploads-replication-failed: only in production`,
	`aws:iam/rolePolicy:RolePolicy replication: only in production`,
	`aws:kms/alias:Alias dr-data: only in production`,
	`aws:kms/key:Key dr-data: only in production`,
	`aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication postgres-backups: only in production`,
	`aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2 backups-dr: only in production`,
	`aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2 uploads-dr: only in production`,
	`aws:s3/bucketOwnershipControls:BucketOwnershipControls backups-dr: only in production`,
	`aws:s3/bucketOwnershipControls:BucketOwnershipControls uploads-dr: only in production`,
	`aws:s3/bucketPolicy:BucketPolicy backups-dr: only in production`,
	`aws:s3/bucketPolicy:BucketPolicy uploads-dr: only in production`,
	`aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock backups-dr: only in production`,
	`aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock uploads-dr: only in production`,
	`aws:s3/bucketReplicationConfig:BucketReplicationConfig backups: only in production`,
	`aws:s3/bucketReplicationConfig:BucketReplicationConfig uploads: only in production`,
	`aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2 backups-dr: only in production`,
	`aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2 uploads-dr: only in production`,
	`aws:s3/bucketV2:BucketV2 backups-dr: only in production`,
	`aws:s3/bucketV2:BucketV2 uploads-dr: only in production`,
	`aws:s3/bucketVersioningV2:BucketVersioningV2 backups-dr: only in production`,
	`aws:s3/bucketVersioningV2:BucketVersioningV2 uploads-dr: only in production`,
	`aws:secretsmanager/secret:Secret backend-api-key replicas: differs`,
	`coldchain:index:DisasterRecovery dr: only in production`,
	`pulumi:providers:aws aws-dr: only in production`,
	// backendMaxTasks, backendMinTasks, frontendMaxTasks, frontendMinTasks
	`aws:appautoscaling/target:Target backend maxCapacity: 10 -> 3`,
	`aws:appautoscaling/target:Target backend minCapacity: 2 -> 1`,
	`aws:appautoscaling/target:Target frontend maxCapacity: 6 -> 2`,
	`aws:appautoscaling/target:Target frontend minCapacity: 2 -> 1`,
	// redisNodes: one node, so one pair of node alarms and dashboard lines fewer
	`aws:cloudwatch/dashboard:Dashboard dashboard dashboardBody: differs`,
	`aws:cloudwatch/metricAlarm:MetricAlarm redis-002-cpu: only in production`,
	`aws:cloudwatch/metricAlarm:MetricAlarm redis-002-memory: only in production`,
	// logRetentionDays, flowLogRetentionDays
	`aws:cloudwatch/logGroup:LogGroup backend retentionInDays: 30 -> 14`,
	`aws:cloudwatch/logGroup:LogGroup exec retentionInDays: 30 -> 14`,
	`aws:cloudwatch/logGroup:LogGroup flow-logs retentionInDays: 90 -> 14`,
	`aws:cloudwatch/logGroup:LogGroup frontend retentionInDays: 30 -> 14`,
	`aws:cloudwatch/logGroup:LogGroup postgres-postgresql retentionInDays: 30 -> 14`,
	`aws:cloudwatch/logGroup:LogGroup postgres-upgrade retentionInDays: 30 -> 14`,
	`aws:cloudwatch/logGroup:LogGroup redis retentionInDays: 30 -> 14`,
	// alarmDbFreeStorageGb (staging's disk is smaller)
	`aws:cloudwatch/metricAlarm:MetricAlarm db-free-storage alarmDescription: differs`,
	`aws:cloudwatch/metricAlarm:MetricAlarm db-free-storage threshold: 10737418240 -> 5368709120`,
	// protect, forceDestroy
	`aws:cloudwatch/logGroup:LogGroup postgres-postgresql retainOnDelete: true -> false`,
	`aws:cloudwatch/logGroup:LogGroup postgres-upgrade retainOnDelete: true -> false`,
	`aws:s3/bucketV2:BucketV2 logs protect: true -> false`,
	`aws:ecr/repository:Repository backend forceDelete: false -> true`,
	`aws:ecr/repository:Repository backend protect: true -> false`,
	`aws:ecr/repository:Repository frontend forceDelete: false -> true`,
	`aws:ecr/repository:Repository frontend protect: true -> false`,
	// containerInsights
	`aws:ecs/cluster:Cluster cluster settings: [{"name":"containerInsights","value":"enabled"}] -> [{"name":"containerInsights","value":"disabled"}]`,
	// fargateSpot
	`aws:ecs/clusterCapacityProviders:ClusterCapacityProviders cluster defaultCapacityProviderStrategies: [{"capacityProvider":"FARGATE","weight":1}] -> [{"capacityProvider":"FARGATE_SPOT","weight":1}]`,
	`aws:ecs/service:Service backend capacityProviderStrategies: [{"capacityProvider":"FARGATE","weight":1}] -> [{"capacityProvider":"FARGATE_SPOT","weight":1}]`,
	`aws:ecs/service:Service frontend capacityProviderStrategies: [{"capacityProvider":"FARGATE","weight":1}] -> [{"capacityProvider":"FARGATE_SPOT","weight":1}]`,
	// backendMinTasks, frontendMinTasks (the desired count starts at the minimum)
	`aws:ecs/service:Service backend desiredCount: 2 -> 1`,
	`aws:ecs/service:Service frontend desiredCount: 2 -> 1`,
	// backendCpu, backendMemory, frontendCpu, frontendMemory
	`aws:ecs/taskDefinition:TaskDefinition backend cpu: "1024" -> "512"`,
	`aws:ecs/taskDefinition:TaskDefinition backend memory: "2048" -> "1024"`,
	`aws:ecs/taskDefinition:TaskDefinition frontend cpu: "512" -> "256"`,
	`aws:ecs/taskDefinition:TaskDefinition frontend memory: "1024" -> "512"`,
	// redisNodeType, redisNodes, redisMultiAz, redisAutomaticFailover, redisSnapshotRetentionDays,
	// finalSnapshot, protect
	`aws:elasticache/replicationGroup:ReplicationGroup redis automaticFailoverEnabled: true -> false`,
	`aws:elasticache/replicationGroup:ReplicationGroup redis finalSnapshotIdentifier: "coldchain-production-redis-final-7fce5142" -> null`,
	`aws:elasticache/replicationGroup:ReplicationGroup redis multiAzEnabled: true -> false`,
	`aws:elasticache/replicationGroup:ReplicationGroup redis nodeType: "cache.t4g.medium" -> "cache.t4g.micro"`,
	`aws:elasticache/replicationGroup:ReplicationGroup redis numCacheClusters: 2 -> 1`,
	`aws:elasticache/replicationGroup:ReplicationGroup redis preferredCacheClusterAzs: ["ap-northeast-2a","ap-northeast-2b"] -> ["ap-northeast-2a"]`,
	`aws:elasticache/replicationGroup:ReplicationGroup redis protect: true -> false`,
	`aws:elasticache/replicationGroup:ReplicationGroup redis snapshotRetentionLimit: 7 -> 1`,
	// kmsDeletionWindowDays, protect; finalSnapshot (the data key is kept by a destroy only
	// while it encrypts snapshots and backups that outlive the stack)
	`aws:kms/key:Key alarms deletionWindowInDays: 30 -> 7`,
	`aws:kms/key:Key alarms protect: true -> false`,
	`aws:kms/key:Key data deletionWindowInDays: 30 -> 7`,
	`aws:kms/key:Key data protect: true -> false`,
	`aws:kms/key:Key data retainOnDelete: true -> false`,
	// finalSnapshot: the suffix that makes each stack life's final snapshots unique
	`random:index/randomId:RandomId final-snapshot: only in production`,
	// albDeletionProtection
	`aws:lb/loadBalancer:LoadBalancer alb enableDeletionProtection: true -> false`,
	// dbInstanceClass, dbAllocatedStorage, dbMaxAllocatedStorage, dbMultiAz, dbDeletionProtection,
	// dbPerformanceInsights, finalSnapshot, protect
	`aws:rds/instance:Instance postgres allocatedStorage: 50 -> 20`,
	`aws:rds/instance:Instance postgres deletionProtection: true -> false`,
	`aws:rds/instance:Instance postgres finalSnapshotIdentifier: "coldchain-production-postgres-final-7fce5142" -> null`,
	`aws:rds/instance:Instance postgres deleteAutomatedBackups: false -> true`,
	`aws:rds/instance:Instance postgres instanceClass: "db.t4g.medium" -> "db.t4g.small"`,
	`aws:rds/instance:Instance postgres maxAllocatedStorage: 200 -> 50`,
	`aws:rds/instance:Instance postgres multiAz: true -> false`,
	`aws:rds/instance:Instance postgres performanceInsightsEnabled: true -> false`,
	`aws:rds/instance:Instance postgres performanceInsightsKmsKeyId: "arn:aws:kms:ap-northeast-2:123456789012:key/f89fb8fb-32af-aa96-6a0e-88cf7c2e6115" -> null`,
	`aws:rds/instance:Instance postgres performanceInsightsRetentionPeriod: 7 -> null`,
	`aws:rds/instance:Instance postgres protect: true -> false`,
	`aws:rds/instance:Instance postgres skipFinalSnapshot: false -> true`,
	// forceDestroy, protect
	`aws:s3/bucketV2:BucketV2 backups forceDestroy: false -> true`,
	`aws:s3/bucketV2:BucketV2 backups protect: true -> false`,
	`aws:s3/bucketV2:BucketV2 logs forceDestroy: false -> true`,
	`aws:s3/bucketV2:BucketV2 uploads forceDestroy: false -> true`,
	`aws:s3/bucketV2:BucketV2 uploads protect: true -> false`,
	// secretRecoveryDays, protect
	`aws:secretsmanager/secret:Secret backend-api-key protect: true -> false`,
	`aws:secretsmanager/secret:Secret backend-api-key recoveryWindowInDays: 30 -> 7`,
	`aws:secretsmanager/secret:Secret redis-auth protect: true -> false`,
	`aws:secretsmanager/secret:Secret redis-auth recoveryWindowInDays: 30 -> 7`,
	// vpcCidr, natGateways, and what the VPC component makes of them: the subnets of the
	// layout in the other range, one NAT gateway (zone 1's) that zone 2's private subnet
	// routes to
	`awsx:ec2:Vpc vpc cidrBlock: "10.0.0.0/16" -> "10.1.0.0/16"`,
	`awsx:ec2:Vpc vpc natGateways: {"strategy":"OnePerAz"} -> {"strategy":"Single"}`,
	`awsx:ec2:Vpc vpc subnetSpecs: differs`,
	`aws:ec2/vpc:Vpc vpc cidrBlock: "10.0.0.0/16" -> "10.1.0.0/16"`,
	`aws:ec2/subnet:Subnet vpc-isolated-1 cidrBlock: "10.0.80.0/20" -> "10.1.80.0/20"`,
	`aws:ec2/subnet:Subnet vpc-isolated-2 cidrBlock: "10.0.208.0/20" -> "10.1.208.0/20"`,
	`aws:ec2/subnet:Subnet vpc-private-1 cidrBlock: "10.0.0.0/18" -> "10.1.0.0/18"`,
	`aws:ec2/subnet:Subnet vpc-private-2 cidrBlock: "10.0.128.0/18" -> "10.1.128.0/18"`,
	`aws:ec2/subnet:Subnet vpc-public-1 cidrBlock: "10.0.64.0/20" -> "10.1.64.0/20"`,
	`aws:ec2/subnet:Subnet vpc-public-2 cidrBlock: "10.0.192.0/20" -> "10.1.192.0/20"`,
	`aws:ec2/eip:Eip vpc-2: only in production`,
	`aws:ec2/natGateway:NatGateway vpc-2: only in production`,
	`aws:ec2/route:Route vpc-private-2 natGatewayId: "nat-0323139f71d53f0e5" -> "nat-0dfac1b7250b0f4cb"`,
}

func TestStagingDiffersFromProductionExactlyAsDocumented(t *testing.T) {
	t.Parallel()
	production := planOfFile(t, "production")
	staging := planOfFile(t, "staging")
	want := append([]string{}, stagingDifferences...)
	sort.Strings(want)
	assert.Equal(t, want, planDifferences(production, staging, "staging", "production"))
}

func TestBothStackFilesPlanCleanly(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"production", "staging"} {
		code, out, errOut := runPlanCommand(t, "--stack", stack)
		assert.Equalf(t, 0, code, "stack %s: %s", stack, errOut)
		assert.Containsf(t, out, "Plan of coldchain/"+stack, "stack %s", stack)
	}
}
