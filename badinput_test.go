package main

import (
	"bytes"
	"cmp"
	"coldchain/internal/guard"
	"coldchain/internal/offline"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// badConfigs are invalid configurations, each with the keys its message must name: every
// one runs through config loading and through the program's entry point ("plan" as a
// process), which must exit 1, name every key with its value and what is allowed, print no
// plan, and never panic.
var badConfigs = []struct {
	name  string
	stack string // default production
	sets  []string
	keys  []string
}{
	{name: "cpu is not a number", sets: []string{"backendCpu=lots"}, keys: []string{"backendCpu"}},
	{name: "cpu is not a Fargate size", sets: []string{"backendCpu=1000"}, keys: []string{"backendCpu"}},
	{name: "memory below what the cpu needs", sets: []string{"backendCpu=1024", "backendMemory=1024"}, keys: []string{"backendMemory"}},
	{name: "memory is not a number", sets: []string{"backendMemory=2GB"}, keys: []string{"backendMemory"}},
	{name: "cidr is malformed", sets: []string{"vpcCidr=10.0.0.0/33"}, keys: []string{"vpcCidr"}},
	{name: "cidr is not a cidr", sets: []string{"vpcCidr=ten-dot-oh"}, keys: []string{"vpcCidr"}},
	{name: "cidr is too large", sets: []string{"vpcCidr=10.0.0.0/8"}, keys: []string{"vpcCidr"}},
	{name: "cidr is too small", sets: []string{"vpcCidr=10.0.0.0/24"}, keys: []string{"vpcCidr"}},
	{name: "cidr is public", sets: []string{"vpcCidr=8.8.0.0/16"}, keys: []string{"vpcCidr"}},
	{name: "cidr has host bits", sets: []string{"vpcCidr=10.0.1.0/16"}, keys: []string{"vpcCidr"}},
	{name: "region is malformed", sets: []string{"aws:region=Seoul"}, keys: []string{"aws:region"}},
	{name: "db class is not an RDS class", sets: []string{"dbInstanceClass=t3.medium"}, keys: []string{"dbInstanceClass"}},
	{name: "db class is previous generation", sets: []string{"dbInstanceClass=db.m1.large"}, keys: []string{"dbInstanceClass"}},
	{name: "redis node is not a cache node", sets: []string{"redisNodeType=db.t3.medium"}, keys: []string{"redisNodeType"}},
	{name: "alarm e-mail is missing", sets: []string{"alarmEmail="}, keys: []string{"alarmEmail"}},
	{name: "alarm e-mail is malformed", sets: []string{"alarmEmail=ops-at-example.com"}, keys: []string{"alarmEmail"}},
	{name: "domain has a bad label", sets: []string{"domainName=-bad.example.com"}, keys: []string{"domainName"}},
	{name: "domain is one label", sets: []string{"domainName=localhost"}, keys: []string{"domainName"}},
	{name: "domain is uppercase", sets: []string{"domainName=App.Example.com"}, keys: []string{"domainName"}},
	{name: "bucket name has uppercase", sets: []string{"uploadsBucketName=Uploads"}, keys: []string{"uploadsBucketName"}},
	{name: "bucket name too short", sets: []string{"backupsBucketName=ab"}, keys: []string{"backupsBucketName"}},
	{name: "bucket name like an IP", sets: []string{"logsBucketName=192.168.1.1"}, keys: []string{"logsBucketName"}},
	{name: "bucket name reserved prefix", sets: []string{"logsBucketName=xn--logs"}, keys: []string{"logsBucketName"}},
	{name: "bucket name reserved suffix", sets: []string{"logsBucketName=logs-s3alias"}, keys: []string{"logsBucketName"}},
	{name: "project name has uppercase", sets: []string{"projectName=ColdChain"}, keys: []string{"projectName"}},
	{name: "environment has underscore", sets: []string{"environment=prod_1"}, keys: []string{"environment"}},
	{name: "prefix too long for bucket names", sets: []string{"projectName=an-exceedingly-long-project-name", "environment=production"}, keys: []string{"projectName"}},
	{name: "nat strategy none", sets: []string{"natGateways=None"}, keys: []string{"natGateways"}},
	{name: "flow log retention not offered", sets: []string{"flowLogRetentionDays=45"}, keys: []string{"flowLogRetentionDays"}},
	{name: "tag key reserved", sets: []string{`tags={"aws:owner":"me"}`}, keys: []string{"tags"}},
	{name: "tags not a map", sets: []string{"tags=owner"}, keys: []string{"tags"}},
	{name: "account id malformed", sets: []string{"allowedAccountIds=12345"}, keys: []string{"allowedAccountIds"}},
	{name: "replicated repositories on a stack that does not own the account's settings", stack: "staging",
		sets: []string{`accountReplicatedRepositories={"ap-northeast-1":["coldchain-rehearsal/"]}`}, keys: []string{"accountReplicatedRepositories"}},
	{name: "replicated repositories to the stack's own region",
		sets: []string{`accountReplicatedRepositories={"ap-northeast-2":["coldchain-rehearsal/"]}`}, keys: []string{"accountReplicatedRepositories"}},
	{name: "replicated repositories to no region",
		sets: []string{`accountReplicatedRepositories={"tokyo":["coldchain-rehearsal/"]}`}, keys: []string{"accountReplicatedRepositories"}},
	{name: "replicated repository name ECR refuses",
		sets: []string{`accountReplicatedRepositories={"ap-northeast-1":["Coldchain Rehearsal"]}`}, keys: []string{"accountReplicatedRepositories"}},
	{name: "replicated repositories not a map of lists",
		sets: []string{`accountReplicatedRepositories=["coldchain-rehearsal/"]`}, keys: []string{"accountReplicatedRepositories"}},
	{name: "one availability zone", sets: []string{`availabilityZones=["ap-northeast-2a"]`}, keys: []string{"availabilityZones"}},
	{name: "the same availability zone twice", sets: []string{`availabilityZones=["ap-northeast-2a","ap-northeast-2a"]`},
		keys: []string{"availabilityZones"}},
	{name: "an availability zone of another region", sets: []string{`availabilityZones=["ap-northeast-2a","ap-northeast-1c"]`},
		keys: []string{"availabilityZones"}},
	{name: "account settings owner not a boolean", sets: []string{"accountSettingsOwner=yes"}, keys: []string{"accountSettingsOwner"}},
	{name: "port out of range", sets: []string{"backendPort=70000"}, keys: []string{"backendPort"}},
	{name: "unknown key (typo)", sets: []string{"vpcCdir=10.1.0.0/16"}, keys: []string{"vpcCdir"}},
	{name: "two buckets with one name", sets: []string{"uploadsBucketName=coldchain-data", "backupsBucketName=coldchain-data"}, keys: []string{"backupsBucketName"}},
	{name: "a flag is not a boolean", sets: []string{"protect=maybe"}, keys: []string{"protect"}},
	{name: "a threshold is not a number", sets: []string{"alarmResponseTimeP95Seconds=NaN"}, keys: []string{"alarmResponseTimeP95Seconds"}},
	{name: "memory above what the cpu allows", sets: []string{"frontendCpu=256", "frontendMemory=4096"}, keys: []string{"frontendMemory"}},
	{name: "min tasks above max", sets: []string{"backendMinTasks=5", "backendMaxTasks=3"}, keys: []string{"backendMaxTasks"}},
	{name: "Multi-AZ cache without failover", sets: []string{"redisMultiAz=true", "redisAutomaticFailover=false"}, keys: []string{"redisMultiAz"}},
	{name: "failover without a replica", sets: []string{"redisNodes=1", "redisMultiAz=false"}, keys: []string{"redisAutomaticFailover"}},
	{name: "CIDR with three octets", sets: []string{"vpcCidr=10.0.0/16"}, keys: []string{"vpcCidr"}},
	{name: "e-mail without @", sets: []string{"alarmEmail=ops.example.com"}, keys: []string{"alarmEmail"}},
	{name: "domain with an underscore", sets: []string{"domainName=bad_domain.com"}, keys: []string{"domainName"}},
	{name: "bucket name with an underscore", sets: []string{"uploadsBucketName=upper_case"}, keys: []string{"uploadsBucketName"}},
	{name: "bucket name with dots", sets: []string{"backupsBucketName=my.bucket.name"}, keys: []string{"backupsBucketName"}},
	{name: "wrong case in a key", sets: []string{"backendcpu=1024"}, keys: []string{"backendcpu"}},
	{name: "region name", sets: []string{"aws:region=seoul"}, keys: []string{"aws:region"}},
	{name: "instance class without db.", sets: []string{"dbInstanceClass=m5.large"}, keys: []string{"dbInstanceClass"}},
	{name: "previous-generation cache node", sets: []string{"redisNodeType=cache.m1.small"}, keys: []string{"redisNodeType"}},
	{name: "unsupported PostgreSQL", sets: []string{"dbEngineVersion=9.6"}, keys: []string{"dbEngineVersion"}},
	{name: "window past midnight", sets: []string{"dbBackupWindow=25:00-26:00"}, keys: []string{"dbBackupWindow"}},
	{name: "overlapping windows", sets: []string{"dbBackupWindow=18:00-19:00", "dbMaintenanceWindow=sun:18:30-sun:19:30"}, keys: []string{"dbMaintenanceWindow"}},
	{name: "path pattern without /", sets: []string{"backendPathPatterns=api"}, keys: []string{"backendPathPatterns"}},
	{name: "certificate of another region", sets: []string{"certificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"}, keys: []string{"certificateArn"}},
	{name: "secret that is a plain value", sets: []string{`backendSecrets={"API_KEY":"sk-live-123"}`}, keys: []string{"backendSecrets"}},
	{name: "retention CloudWatch does not offer", sets: []string{"logRetentionDays=45"}, keys: []string{"logRetentionDays"}},
	{name: "port zero", sets: []string{"frontendPort=0"}, keys: []string{"frontendPort"}},
	{name: "architecture spelled wrong", sets: []string{"cpuArchitecture=x86"}, keys: []string{"cpuArchitecture"}},
	{name: "staging with a bad flag", sets: []string{"fargateSpot=yes"}, keys: []string{"fargateSpot"}, stack: "staging"},
	{name: "three problems at once", sets: []string{"backendCpu=lots", "vpcCidr=x", "alarmEmail=y"}, keys: []string{"backendCpu", "vpcCidr", "alarmEmail"}},
	{name: "service: frontendMinTasks=0", sets: []string{"frontendMinTasks=0"}, keys: []string{"frontendMinTasks"}},
	{name: "service: backendCpuTarget=150", sets: []string{"backendCpuTarget=150"}, keys: []string{"backendCpuTarget"}},
	{name: "service: frontendMemoryTarget=0", sets: []string{"frontendMemoryTarget=0"}, keys: []string{"frontendMemoryTarget"}},
	{name: "service: backendDesiredCount=11", sets: []string{"backendDesiredCount=11"}, keys: []string{"backendDesiredCount"}},
	{name: "service: scaleOutCooldownSeconds=-1", sets: []string{"scaleOutCooldownSeconds=-1"}, keys: []string{"scaleOutCooldownSeconds"}},
	{name: "service: frontendCpu=512", sets: []string{"frontendCpu=512", "frontendMemory=512"}, keys: []string{"frontendMemory"}},
	{name: "service: cpuArchitecture=arm", sets: []string{"cpuArchitecture=arm"}, keys: []string{"cpuArchitecture"}},
	{name: "service: backendImageTag=:latest", sets: []string{"backendImageTag=:latest"}, keys: []string{"backendImageTag"}},
	{name: "service: backendPathPatterns=api/*", sets: []string{"backendPathPatterns=api/*"}, keys: []string{"backendPathPatterns"}},
	{name: `service: backendPathPatterns=["/a","/b","/c","/d","/e","/f"]`, sets: []string{`backendPathPatterns=["/a","/b","/c","/d","/e","/f"]`}, keys: []string{"backendPathPatterns"}},
	{name: `service: backendSecrets={"DATABASE_HOST":"/x"}`, sets: []string{`backendSecrets={"DATABASE_HOST":"/x"}`}, keys: []string{"backendSecrets"}},
	{name: `service: backendSecrets={"api-key":"/x"}`, sets: []string{`backendSecrets={"api-key":"/x"}`}, keys: []string{"backendSecrets"}},
	{name: `service: backendSecrets={"API_KEY":"not a parameter"}`, sets: []string{`backendSecrets={"API_KEY":"not a parameter"}`}, keys: []string{"backendSecrets"}},
	{name: "service: backendLogGroupName with a space", sets: []string{"backendLogGroupName=/ecs/cold chain"}, keys: []string{"backendLogGroupName"}},
	{name: "service: frontendLogGroupName=aws/ecs/x", sets: []string{"frontendLogGroupName=aws/ecs/x"}, keys: []string{"frontendLogGroupName"}},
	{name: "service: hostedZoneId=zone-1", sets: []string{"hostedZoneId=zone-1"}, keys: []string{"hostedZoneId"}},
	{name: "service: domainName=app.example.com", sets: []string{"domainName=app.example.com", "hostedZoneName=other.org"}, keys: []string{"hostedZoneName"}},
	{name: "data: redisMultiAz=false, redisAutomaticFailover=true, redisNodes=1", sets: []string{"redisMultiAz=false", "redisAutomaticFailover=true", "redisNodes=1"}, keys: []string{"redisAutomaticFailover"}},
	{name: "data: redisSnapshotRetentionDays=0", sets: []string{"redisSnapshotRetentionDays=0"}, keys: []string{"redisSnapshotRetentionDays"}},
	{name: "data: dbAllocatedStorage=100, dbMaxAllocatedStorage=105", sets: []string{"dbAllocatedStorage=100", "dbMaxAllocatedStorage=105"}, keys: []string{"dbMaxAllocatedStorage"}},
	{name: "data: dbInstanceClass=db.t3.micro", sets: []string{"dbInstanceClass=db.t3.micro"}, keys: []string{"dbPerformanceInsights"}},
	{name: "service: ARM64 tasks on Fargate Spot", sets: []string{"cpuArchitecture=ARM64", "fargateSpot=true"}, keys: []string{"fargateSpot"}},
	{name: "data: a size no class has", sets: []string{"dbInstanceClass=db.t3.huge"}, keys: []string{"dbInstanceClass"}},
	{name: "data: a cache size no class has", sets: []string{"redisNodeType=cache.r7g.medium"}, keys: []string{"redisNodeType"}},
	{name: "data: a parameter that undoes TLS", sets: []string{`dbParameters={"rds.force_ssl":"0"}`}, keys: []string{"dbParameters"}},
	{name: "data: a parameter name with a space", sets: []string{`dbParameters={"shared preload":"x"}`}, keys: []string{"dbParameters"}},
	{name: "data: a parameter without a value", sets: []string{`dbParameters={"shared_preload_libraries":""}`}, keys: []string{"dbParameters"}},
	{name: "data: parameters that are a list", sets: []string{`dbParameters=["shared_preload_libraries"]`}, keys: []string{"dbParameters"}},
	{name: "cost: an assumption cost does not make", sets: []string{`costUsage={"trafficGB":10}`}, keys: []string{"costUsage"}},
	{name: "cost: a negative usage", sets: []string{`costUsage={"internetEgressGB":-10}`}, keys: []string{"costUsage"}},
	{name: "waf: a mode WAF does not have", sets: []string{"waf=true", "wafMode=challenge"}, keys: []string{"wafMode"}},
	{name: "waf: a rate limit path without its slash", sets: []string{"waf=true", `wafRateLimitPaths=["api/auth"]`}, keys: []string{"wafRateLimitPaths"}},
	{name: "waf: too many rate limit paths", sets: []string{"waf=true", `wafRateLimitPaths=["/a","/b","/c","/d","/e","/f","/g","/h","/i","/j","/k"]`}, keys: []string{"wafRateLimitPaths"}},
	{name: "DR region malformed", sets: []string{"drRegion=tokyo"}, keys: []string{"drRegion"}},
	{name: "DR region is the stack's", sets: []string{"drRegion=ap-northeast-2"}, keys: []string{"drRegion"}},
	{name: "DR region in another partition", sets: []string{"drRegion=cn-north-1"}, keys: []string{"drRegion"}},
	{name: "restore from a malformed ARN", sets: []string{"dbRestoreFrom=ab-4xmrf2dwbvtm3pvsvbqmwbbsk4", "dbKmsKey=arn:aws:kms:ap-northeast-2:123456789012:key/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"}, keys: []string{"dbRestoreFrom"}},
	{name: "restore from another region's backups", sets: []string{"dbRestoreFrom=arn:aws:rds:ap-northeast-1:123456789012:auto-backup:ab-4xmrf2dwbvtm3pvsvbqmwbbsk4", "dbKmsKey=arn:aws:kms:ap-northeast-2:123456789012:key/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"}, keys: []string{"dbRestoreFrom"}},
	{name: "take over no domain", sets: []string{"takeOverDomain=true"}, keys: []string{"takeOverDomain"}},
	{name: "restore without the backups' key", sets: []string{"dbRestoreFrom=arn:aws:rds:ap-northeast-2:123456789012:auto-backup:ab-4xmrf2dwbvtm3pvsvbqmwbbsk4"}, keys: []string{"dbKmsKey"}},
	{name: "DR replica name too long", sets: []string{"drRegion=ap-southeast-7", "uploadsBucketName=coldchain-production-uploads-with-a-very-long-name"}, keys: []string{"drRegion"}},
	{name: "cache engine memcached", sets: []string{"redisEngine=memcached"}, keys: []string{"redisEngine"}},
	{name: "a Redis version for Valkey", sets: []string{"redisEngine=valkey", "redisEngineVersion=7.1"}, keys: []string{"redisEngineVersion"}},
	{name: "a Valkey version for Redis", sets: []string{"redisEngine=redis", "redisEngineVersion=8.0"}, keys: []string{"redisEngineVersion"}},
	{name: "a switch that is not one", sets: []string{"containerInsights=enhanced"}, keys: []string{"containerInsights"}},
	{name: "endpoint switch not a boolean", sets: []string{"s3GatewayEndpoint=gateway"}, keys: []string{"s3GatewayEndpoint"}},
	{name: "subnets of one tier only", sets: []string{`publicSubnetCidrs=["10.0.1.0/24","10.0.2.0/24"]`}, keys: []string{"privateSubnetCidrs", "isolatedSubnetCidrs"}},
	{name: "overlapping explicit subnets", sets: []string{`publicSubnetCidrs=["10.0.1.0/24","10.0.2.0/24"]`, `privateSubnetCidrs=["10.0.0.0/16","10.0.12.0/24"]`, `isolatedSubnetCidrs=["10.0.21.0/24","10.0.22.0/24"]`}, keys: []string{"privateSubnetCidrs", "isolatedSubnetCidrs"}},
	{name: "a subnet outside the VPC", sets: []string{`publicSubnetCidrs=["10.9.1.0/24","10.0.2.0/24"]`, `privateSubnetCidrs=["10.0.11.0/24","10.0.12.0/24"]`, `isolatedSubnetCidrs=["10.0.21.0/24","10.0.22.0/24"]`}, keys: []string{"publicSubnetCidrs"}},
	{name: "a public subnet too small for the load balancer", sets: []string{`publicSubnetCidrs=["10.0.1.0/28","10.0.2.0/24"]`, `privateSubnetCidrs=["10.0.11.0/24","10.0.12.0/24"]`, `isolatedSubnetCidrs=["10.0.21.0/24","10.0.22.0/24"]`}, keys: []string{"publicSubnetCidrs"}},
	{name: "one subnet for two zones", sets: []string{`publicSubnetCidrs=["10.0.1.0/24"]`, `privateSubnetCidrs=["10.0.11.0/24","10.0.12.0/24"]`, `isolatedSubnetCidrs=["10.0.21.0/24","10.0.22.0/24"]`}, keys: []string{"publicSubnetCidrs"}},
	{name: "private subnets too small for the tasks", sets: []string{`publicSubnetCidrs=["10.0.1.0/24","10.0.2.0/24"]`, `privateSubnetCidrs=["10.0.11.0/27","10.0.12.0/24"]`, `isolatedSubnetCidrs=["10.0.21.0/24","10.0.22.0/24"]`}, keys: []string{"privateSubnetCidrs"}},
	{name: "an identifier with a double hyphen", sets: []string{"dbIdentifier=prod--db"}, keys: []string{"dbIdentifier"}},
	{name: "a key of another region", sets: []string{"dbKmsKey=arn:aws:kms:us-east-1:111122223333:key/5f0e3a1b-7c2d-4e8f-9a6b-1c2d3e4f5a6b"}, keys: []string{"dbKmsKey"}},
	{name: "a cache key that is an alias", sets: []string{"redisKmsKey=alias/cache"}, keys: []string{"redisKmsKey"}},
	{name: "ECR encryption by name", sets: []string{"ecrEncryption=SSE-S3"}, keys: []string{"ecrEncryption"}},
	{name: "a cluster name with spaces", sets: []string{"clusterName=cold chain"}, keys: []string{"clusterName"}},
	{name: "a service name with a dot", sets: []string{"backendServiceName=api.v1"}, keys: []string{"backendServiceName"}},
	{name: "a repository name with uppercase", sets: []string{"frontendRepositoryName=Web"}, keys: []string{"frontendRepositoryName"}},
	{name: "data: dbEngineVersion=12", sets: []string{"dbEngineVersion=12"}, keys: []string{"dbEngineVersion"}},
	{name: "data: dbUsername=postgres", sets: []string{"dbUsername=postgres"}, keys: []string{"dbUsername"}},
	{name: "data: dbUsername=rds_admin", sets: []string{"dbUsername=rds_admin"}, keys: []string{"dbUsername"}},
	{name: "data: dbName=1db", sets: []string{"dbName=1db"}, keys: []string{"dbName"}},
	{name: "data: dbBackupRetentionDays=3", sets: []string{"dbBackupRetentionDays=3"}, keys: []string{"dbBackupRetentionDays"}},
	{name: "data: redisEngineVersion=5.0.6", sets: []string{"redisEngineVersion=5.0.6"}, keys: []string{"redisEngineVersion"}},
	{name: "data: secretRecoveryDays=3", sets: []string{"secretRecoveryDays=3"}, keys: []string{"secretRecoveryDays"}},
	{name: "data: kmsDeletionWindowDays=60", sets: []string{"kmsDeletionWindowDays=60"}, keys: []string{"kmsDeletionWindowDays"}},
	{name: "free storage threshold above the disk", sets: []string{"alarmDbFreeStorageGb=50"}, keys: []string{"alarmDbFreeStorageGb"}},
	{name: "response time not a number", sets: []string{"alarmResponseTimeP95Seconds=fast"}, keys: []string{"alarmResponseTimeP95Seconds"}},
	{name: "cpu threshold of 100%", sets: []string{"alarmRedisCpuPercent=100"}, keys: []string{"alarmRedisCpuPercent"}},
	{name: "names too long for their AWS limits", sets: []string{"projectName=a-much-too-long-project-name-for-s3-buckets", "environment=production"}, keys: []string{"projectName"}},
	{name: "writable path relative", sets: []string{`frontendWritablePaths=["tmp"]`}, keys: []string{"frontendWritablePaths"}},
	{name: "writable path the root", sets: []string{`frontendWritablePaths=["/"]`}, keys: []string{"frontendWritablePaths"}},
	{name: "writable path with ..", sets: []string{`frontendWritablePaths=["/tmp/../etc"]`}, keys: []string{"frontendWritablePaths"}},
	{name: "writable path a trailing /", sets: []string{`frontendWritablePaths=["/tmp/"]`}, keys: []string{"frontendWritablePaths"}},
	{name: "writable path twice", sets: []string{`frontendWritablePaths=["/tmp","/tmp"]`}, keys: []string{"frontendWritablePaths"}},
	{name: "writable path ECS Exec's own", sets: []string{`frontendWritablePaths=["/var/lib/amazon"]`}, keys: []string{"frontendWritablePaths"}},
	{name: "writable path one volume name for two paths", sets: []string{`frontendWritablePaths=["/a.b","/a_b"]`}, keys: []string{"frontendWritablePaths"}},
	{name: "writable path a space", sets: []string{`frontendWritablePaths=["/with space"]`}, keys: []string{"frontendWritablePaths"}},
	{name: "secret source: a bare name", sets: []string{`backendSecrets={"PARTNER":"api-key"}`}, keys: []string{"backendSecrets"}},
	{name: "secret source: a JSON key without its three fields", sets: []string{`backendSecrets={"PARTNER":"arn:aws:secretsmanager:ap-northeast-2:210987654321:secret:partner-AbCdEf:key"}`}, keys: []string{"backendSecrets"}},
	{name: "secret source: another region's secret", sets: []string{`backendSecrets={"PARTNER":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"}`}, keys: []string{"backendSecrets"}},
	{name: "declared secret: a lowercase name", sets: []string{`backendManagedSecrets=["api_key"]`}, keys: []string{"backendManagedSecrets"}},
	{name: "declared secret: a name the program sets", sets: []string{`backendManagedSecrets=["DATABASE_PASSWORD"]`}, keys: []string{"backendManagedSecrets"}},
	{name: "declared secret: a name twice", sets: []string{`backendManagedSecrets=["API_KEY","API_KEY"]`}, keys: []string{"backendManagedSecrets"}},
	{name: "worker: a program service's name", sets: []string{`workers=["backend"]`}, keys: []string{"workers"}},
	{name: "role boundary: not a policy name", sets: []string{"rolePermissionsBoundary=arn:aws:iam::123456789012:policy/x"}, keys: []string{"rolePermissionsBoundary"}},
	{name: "worker: a tier's name", sets: []string{`workers=["redis"]`}, keys: []string{"workers"}},
	{name: "worker: another service's log group", sets: []string{`workers=["dispatcher"]`, "dispatcherLogGroupName=/ecs/coldchain-production/backend"},
		keys: []string{"dispatcherLogGroupName"}},
	{name: "worker: the ECS Exec log group", sets: []string{`workers=["dispatcher"]`, "dispatcherLogGroupName=/ecs/coldchain-production/exec"},
		keys: []string{"dispatcherLogGroupName"}},
	{name: "worker: another service's repository", sets: []string{`workers=["dispatcher"]`, "dispatcherRepositoryName=coldchain-production/frontend"},
		keys: []string{"dispatcherRepositoryName"}},
	{name: "worker: not a key's beginning", sets: []string{`workers=["Dispatcher"]`}, keys: []string{"workers"}},
	{name: "worker: named twice", sets: []string{`workers=["dispatcher","dispatcher"]`}, keys: []string{"workers"}},
	{name: "worker: eleven", sets: []string{`workers=["w1","w2","w3","w4","w5","w6","w7","w8","w9","w10","w11"]`}, keys: []string{"workers"}},
	{name: "worker: not an SQS queue name", sets: []string{`workers=["dispatcher"]`, "dispatcherQueueName=orders queue"}, keys: []string{"dispatcherQueueName"}},
	{name: "worker: a queue without Container Insights", sets: []string{`workers=["dispatcher"]`, "dispatcherQueueName=orders", "containerInsights=false"},
		keys: []string{"dispatcherQueueName"}},
	{name: "worker: a queue age past SQS's retention", sets: []string{`workers=["dispatcher"]`, "dispatcherQueueName=orders", "dispatcherQueueAgeAlarmSeconds=2000000"},
		keys: []string{"dispatcherQueueAgeAlarmSeconds"}},
	{name: "worker: no messages per task", sets: []string{`workers=["dispatcher"]`, "dispatcherMessagesPerTask=0"}, keys: []string{"dispatcherMessagesPerTask"}},
	{name: "worker: a port is the load balancer's", sets: []string{`workers=["dispatcher"]`, "dispatcherPort=8080"}, keys: []string{"dispatcherPort"}},
	{name: "worker: the program's own key unset", sets: []string{"dispatcherCpu=512"}, keys: []string{"dispatcherCpu"}},
	{name: "declared secret also mapped", sets: []string{"backendManagedSecrets=API_KEY", `backendSecrets={"API_KEY":"/x"}`}, keys: []string{"backendManagedSecrets"}},
}

// asProgram, set in a test binary's environment, makes it run the program's own main instead
// of the tests: the tests run the real entry point as a process without building (and linking)
// the program a second time.
const asProgram = "COLDCHAIN_TEST_AS_PROGRAM"

func TestMain(m *testing.M) {
	if os.Getenv(asProgram) == "1" {
		main()
		os.Exit(0)
	}
	if os.Getenv(asPolicyPack) == "1" {
		// The policy pack's main (policypack/main.go), for TestPolicyPackAnswersTheEngine.
		if err := guard.Serve(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// program is the program, run as a process with args, as a person at a terminal would run it.
func program(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asProgram+"=1", "PULUMI_MONITOR=")
	return cmd
}

// planArgs are the arguments of "plan" for a bad config.
func planArgs(stack string, sets []string) []string {
	args := []string{"plan", "--stack", stack}
	for _, set := range sets {
		args = append(args, "-c", set)
	}
	return args
}

func TestBadConfigsAreRejectedNamingEveryKey(t *testing.T) {
	require.GreaterOrEqual(t, len(badConfigs), 30)
	for _, tc := range badConfigs {
		stack := cmp.Or(tc.stack, "production")
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// In process: loading the config names every key.
			_, err := loadConfig(project, stack, with(minimalConfig(), tc.sets...))
			var cfgErr *ConfigError
			require.Truef(t, errors.As(err, &cfgErr), "config %v: got error %v, want a *ConfigError", tc.sets, err)
			var keys []string
			for _, p := range cfgErr.Problems {
				keys = append(keys, p.Key)
			}
			for _, key := range tc.keys {
				assert.Containsf(t, keys, key, "config %v: problems %v do not name %s", tc.sets, cfgErr.Problems, key)
			}

			// Through the entry point: exit 1, every key named with what is allowed, no plan.
			args := planArgs(stack, tc.sets)
			cmd := program(args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			var exit *exec.ExitError
			require.Truef(t, errors.As(err, &exit), "%v: want exit status 1, got %v", args, err)
			assert.Equalf(t, 1, exit.ExitCode(), "%v", args)
			assert.Emptyf(t, stdout.String(), "%v printed a plan", args)
			msg := stderr.String()
			for _, key := range tc.keys {
				assert.Containsf(t, msg, key+" = ", "%v: the message does not name %s:\n%s", args, key, msg)
			}
			assert.Contains(t, msg, "must be", "the message says what is allowed")
			for _, trace := range []string{"panic", "goroutine", ".go:"} {
				assert.NotContainsf(t, msg, trace, "%v: %s in the output:\n%s", args, trace, msg)
			}
		})
	}
}

func TestTheProgramSaysWhatItIsAndHowToRunIt(t *testing.T) {
	t.Parallel()
	run := func(args ...string) (int, string, string) {
		cmd := program(args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		return code, stdout.String(), stderr.String()
	}
	for _, help := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, _ := run(help...)
		assert.Equalf(t, 0, code, "%v", help)
		assert.Containsf(t, out, `"pulumi preview" and "pulumi up" run it`, "%v", help)
		assert.Containsf(t, out, "go run . plan [--stack NAME] [--json] [--against BEFORE.json] [-c key=value ...]", "%v", help)
	}
	code, out, errOut := run()
	assert.Equal(t, 2, code, "no command outside a Pulumi run is misuse")
	assert.Empty(t, out)
	assert.Contains(t, errOut, "go run . plan")
	code, _, errOut = run("deploy")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown command "deploy"`)
	code, _, _ = run("plan", "--help")
	assert.Equal(t, 0, code)
	code, _, _ = run("plan", "--no-such-flag")
	assert.Equal(t, 2, code)
	code, _, errOut = run("plan", "--stack", "prod")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `stack "prod" has no config file ./Pulumi.prod.yaml; the stacks here are: production, staging`)
}

func TestGoodInputThroughTheEntryPoint(t *testing.T) {
	t.Parallel()
	out, err := program("plan", "--stack", "staging").Output()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(out), "Plan of coldchain/staging"))
}

// FuzzConfig feeds arbitrary values to every config key: loading must never panic, and either
// accept a config that validates or reject it with problems that name keys.
func FuzzConfig(f *testing.F) {
	for _, tc := range badConfigs {
		for _, kv := range tc.sets {
			k, v, _ := strings.Cut(kv, "=")
			f.Add(k, v)
		}
	}
	f.Add("backendSecrets", `{"A":"/x","B":"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:x"}`)
	f.Add("backendPathPatterns", `["/a",`)
	f.Fuzz(func(t *testing.T, key, value string) {
		if value == offline.SecretPlaceholder {
			return // an encrypted value, which only "pulumi up" can check
		}
		raw := minimalConfig()
		key = offline.Qualify(project, key)
		raw[key] = value
		cfg, err := loadConfig(project, "production", raw)
		if err != nil {
			var cfgErr *ConfigError
			if !errors.As(err, &cfgErr) || len(cfgErr.Problems) == 0 {
				t.Fatalf("%s=%q: error %v is not a config error with problems", key, value, err)
			}
			for _, p := range cfgErr.Problems {
				if p.Key == "" || p.Allowed == "" {
					t.Fatalf("%s=%q: problem %+v names no key or allowed value", key, value, p)
				}
			}
			return
		}
		if problems := cfg.validate(); len(problems) > 0 {
			t.Fatalf("%s=%q: accepted config fails validation: %v", key, value, problems)
		}
	})
}

// TestAZoneTheAccountIsNotOfferedIsRefusedByName: whether a zone exists for the account is
// AWS's answer (the offline engine answers as Seoul does: a to d), given before any resource
// is registered, as bad config: the key, the value and the zones there are.
func TestAZoneTheAccountIsNotOfferedIsRefusedByName(t *testing.T) {
	t.Parallel()
	code, out, errOut := runPlanCommand(t, "-c", `availabilityZones=["ap-northeast-2a","ap-northeast-2z"]`)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, `availabilityZones = "ap-northeast-2z": must be a zone ap-northeast-2 offers this account without opt-in: `+
		"ap-northeast-2a, ap-northeast-2b, ap-northeast-2c, ap-northeast-2d")
}
