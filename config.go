package main

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Config is the typed configuration of one stack. It is read once, from the stack's config, by
// loadConfig; every default lives in this file and nowhere else (not in Pulumi.yaml). Each area
// gets the part it uses: Database, Routing, the Services, or single values.
type Config struct {
	// ProjectName (projectName, default "coldchain") starts every operator-facing name.
	ProjectName string
	// Environment (environment, default the stack name) is the second half of the name prefix.
	Environment string
	// Region (aws:region, default "ap-northeast-2") is where everything is deployed.
	Region string
	// Profile (aws:profile, optional) is handed to the explicit provider, which does not read
	// the aws: namespace by itself.
	Profile string
	// AllowedAccountIDs (allowedAccountIds, optional) makes the provider refuse any other
	// account, so a production stack cannot be deployed with a staging profile by mistake.
	AllowedAccountIDs []string
	// Tags (tags, optional) are added to the default tags of every resource.
	Tags map[string]string
	// DrRegion (drRegion, optional) is the disaster-recovery region: the database's backups,
	// the data buckets, the images and the secrets get copies there (dr.go).
	DrRegion string
	// AccountSettings are the settings that exist once per account and region, which one
	// stack of the account owns (accountsettings.go).
	AccountSettings AccountSettingsConfig

	// VpcCidr (vpcCidr, default "10.0.0.0/16") is the VPC's IPv4 range.
	VpcCidr string
	// NatGateways (natGateways, default "OnePerAz") is the awsx NAT strategy.
	NatGateways string
	// FlowLogRetentionDays (flowLogRetentionDays, default 90) keeps VPC flow logs.
	FlowLogRetentionDays int
	// AvailabilityZones (availabilityZones, default: the region's first two that need no
	// opt-in) are the zones the subnets, the database and the cache span, in subnet order.
	AvailabilityZones []string
	// S3GatewayEndpoint (s3GatewayEndpoint, default true) routes the private subnets' S3
	// traffic through a free gateway endpoint instead of the NAT gateways.
	S3GatewayEndpoint bool
	// SubnetCidrs (publicSubnetCidrs, privateSubnetCidrs, isolatedSubnetCidrs; all three or
	// none) replaces the computed subnet layout (subnets.go) with given subnets, one per zone
	// in zone order, by tier: to keep the subnets of an adopted Terraform VPC.
	SubnetCidrs map[string][]string

	// AlarmEmail (alarmEmail, required) receives the alarm notifications.
	AlarmEmail string
	// CostUsage (costUsage, default none) is the stack's own usage for "go run . cost", over
	// its defaults: what the plan cannot know (gigabytes moved and stored, requests), as a map
	// of assumption to number. Nothing else reads it.
	CostUsage map[string]float64
	// Frozen (frozen, default "") says why the stack must not change: a failover moved
	// production to another stack ("Disaster recovery"), and an update here would start the old
	// region's services again. "pulumi up" refuses it, naming the reason; previews still run, and
	// the deploy workflow skips the stack.
	Frozen string

	// UploadsBucketName, BackupsBucketName and LogsBucketName (optional) override the derived,
	// globally unique bucket names.
	UploadsBucketName string
	BackupsBucketName string
	LogsBucketName    string

	// Protect (protect, default true) protects every stateful resource (database, cache, data
	// buckets, ECR repositories, keys, secrets) against "pulumi destroy".
	Protect bool
	// ForceDestroy (forceDestroy, default false) lets destroy empty buckets and repositories.
	ForceDestroy bool
	// LogRetentionDays (logRetentionDays, default 30) keeps the service, database and cache logs.
	LogRetentionDays int
	// KMSDeletionWindowDays (kmsDeletionWindowDays, default 30) is the wait before a deleted
	// key is gone; SecretRecoveryDays (secretRecoveryDays, default 30) the same for secrets.
	KMSDeletionWindowDays int
	SecretRecoveryDays    int

	// Database configures RDS PostgreSQL and ElastiCache Redis.
	Database DatabaseConfig

	// Bucket lifecycle.
	NoncurrentVersionExpirationDays int // noncurrentVersionExpirationDays, default 90
	BackupsArchiveAfterDays         int // backupsArchiveAfterDays, default 30 (to Glacier Instant Retrieval)
	LogsExpirationDays              int // logsExpirationDays, default 90 (access logs)

	// ECR.
	EcrMaxImages          int    // ecrMaxImages, default 30 tagged images kept per repository
	EcrImageTagMutability string // ecrImageTagMutability, default "IMMUTABLE"
	// EcrEncryption (ecrEncryption, default "KMS": the data key) or "AES256" (S3-managed keys),
	// which only a new repository changes: to keep adopted repositories.
	EcrEncryption string

	// ClusterName (clusterName, default the prefix) names the ECS cluster.
	ClusterName string
	// ContainerInsights (containerInsights, default true) collects the cluster's, services' and
	// tasks' metrics (Security Hub ECS.12); it is billed as custom metrics.
	ContainerInsights bool
	// Firewall is the web application firewall in front of the load balancer.
	Firewall FirewallConfig
	// Services are the application's ECS services, in order; each is keyed by its name. The
	// program's own (backend, frontend) come first, then the workers.
	Services []ServiceConfig
	// RolePermissionsBoundary (rolePermissionsBoundary, default none) names the managed policy
	// of the account that bounds every role the stack creates: the account stack's
	// "<prefix>-role-boundary" (docs/account.md), without which its deployment role may create
	// no role.
	RolePermissionsBoundary string
	// Workers (workers, default none) names the services that run without the load balancer,
	// such as a queue consumer: each gets the keys "<name>Cpu", "<name>ImageTag", ... and a
	// repository, log group, security group, scaling and alarms of its own.
	Workers []string
	// Routing configures the load balancer in front of them.
	Routing RoutingConfig
	// CPUArchitecture (cpuArchitecture, default "X86_64") is the tasks' CPU, or "ARM64".
	CPUArchitecture string
	// FargateSpot (fargateSpot, default false) runs the tasks on Fargate Spot.
	FargateSpot bool
	// ScaleInCooldown and ScaleOutCooldown (scaleInCooldownSeconds 300,
	// scaleOutCooldownSeconds 60) pace the autoscaling of every service.
	ScaleInCooldown  int
	ScaleOutCooldown int

	// Alarms holds the alarm thresholds, the seed's by default.
	Alarms AlarmThresholds
}

// NAT gateway strategies of awsx's Vpc that leave the private subnets a way out.
const (
	natOnePerAz = "OnePerAz"
	natSingle   = "Single"
)

var natStrategies = []string{natOnePerAz, natSingle}

// DatabaseConfig configures the data tier (keys "db<Key>", "redis<Key>", finalSnapshot).
type DatabaseConfig struct {
	Identifier          string // dbIdentifier, default "<prefix>-postgres"
	InstanceClass       string // dbInstanceClass, default "db.t3.medium"
	EngineVersion       string // dbEngineVersion, default "17" (a major version)
	Name                string // dbName, default "coldchain"
	Username            string // dbUsername, default "coldchain_admin"
	AllocatedStorage    int    // dbAllocatedStorage, default 50 (GiB of gp3)
	MaxAllocatedStorage int    // dbMaxAllocatedStorage, default 200 (storage autoscaling ceiling)
	MultiAZ             bool   // dbMultiAz, default true
	BackupRetentionDays int    // dbBackupRetentionDays, default 7
	BackupWindow        string // dbBackupWindow, default "17:00-18:00" (UTC; 02:00 in Seoul)
	MaintenanceWindow   string // dbMaintenanceWindow, default "sun:18:30-sun:19:30" (UTC)
	DeletionProtection  bool   // dbDeletionProtection, default true
	PerformanceInsights bool   // dbPerformanceInsights, default true
	// KmsKey (dbKmsKey, default "": the data key) is the ARN of the key that encrypts the
	// database's storage; RedisKmsKey (redisKmsKey) the same for the cache, or "aws-owned" for
	// ElastiCache's own key. Only a new instance changes its key: these keep adopted ones.
	KmsKey      string
	RedisKmsKey string
	// RestoreFrom (dbRestoreFrom, default "") is the ARN of automated backups, a DR region's
	// copy of another stack's, that a new database is restored from at their latest restorable
	// time (see README's "Disaster recovery"); unset, the database starts empty.
	RestoreFrom string
	// Parameters (dbParameters, default none) are PostgreSQL parameters beside the program's
	// own (TLS forced, slow statements logged): a team's shared_preload_libraries, say. They
	// are applied "pending-reboot", which RDS accepts for static and dynamic parameters alike:
	// a new instance starts with them, a running one takes a change at its next reboot.
	Parameters map[string]string
	// FinalSnapshot (finalSnapshot, default true) snapshots the database and the cache when
	// they are deleted, keeps the database's automated backups, and keeps the data key that
	// encrypts them all.
	FinalSnapshot bool

	RedisNodeType string // redisNodeType, default "cache.t3.medium"
	// RedisEngine (redisEngine, default "redis") is Redis OSS or "valkey", its open-source fork,
	// which ElastiCache prices about 20% lower per node and runs with the same TLS and AUTH.
	RedisEngine                string
	RedisEngineVersion         string // redisEngineVersion, default "7.1" (Redis OSS) or "8.0" (Valkey)
	RedisNodes                 int    // redisNodes, default 2 (a primary and a replica)
	RedisMultiAZ               bool   // redisMultiAz, default true
	RedisAutomaticFailover     bool   // redisAutomaticFailover, default true
	RedisSnapshotRetentionDays int    // redisSnapshotRetentionDays, default 7
	RedisSnapshotWindow        string // redisSnapshotWindow, default "16:00-17:00" (UTC)
	RedisMaintenanceWindow     string // redisMaintenanceWindow, default "sun:20:00-sun:21:00" (UTC)
}

// database reads the data tier's keys, with their defaults.
func (r *configReader) database(prefix, redisEngine string) DatabaseConfig {
	return DatabaseConfig{
		Identifier:          r.str("dbIdentifier", prefix+"-postgres"),
		InstanceClass:       r.str("dbInstanceClass", "db.t3.medium"),
		EngineVersion:       r.str("dbEngineVersion", "17"),
		Name:                r.str("dbName", "coldchain"),
		Username:            r.str("dbUsername", "coldchain_admin"),
		AllocatedStorage:    r.integer("dbAllocatedStorage", 50),
		MaxAllocatedStorage: r.integer("dbMaxAllocatedStorage", 200),
		MultiAZ:             r.boolean("dbMultiAz", true),
		BackupRetentionDays: r.integer("dbBackupRetentionDays", 7),
		BackupWindow:        r.str("dbBackupWindow", "17:00-18:00"),
		MaintenanceWindow:   r.str("dbMaintenanceWindow", "sun:18:30-sun:19:30"),
		DeletionProtection:  r.boolean("dbDeletionProtection", true),
		PerformanceInsights: r.boolean("dbPerformanceInsights", true),
		FinalSnapshot:       r.boolean("finalSnapshot", true),
		KmsKey:              r.str("dbKmsKey", ""),
		RedisKmsKey:         r.str("redisKmsKey", ""),
		RestoreFrom:         r.str("dbRestoreFrom", ""),
		Parameters:          r.strMap("dbParameters"),

		RedisNodeType:              r.str("redisNodeType", "cache.t3.medium"),
		RedisEngine:                redisEngine,
		RedisEngineVersion:         r.str("redisEngineVersion", defaultCacheVersions[redisEngine]),
		RedisNodes:                 r.integer("redisNodes", 2),
		RedisMultiAZ:               r.boolean("redisMultiAz", true),
		RedisAutomaticFailover:     r.boolean("redisAutomaticFailover", true),
		RedisSnapshotRetentionDays: r.integer("redisSnapshotRetentionDays", 7),
		RedisSnapshotWindow:        r.str("redisSnapshotWindow", "16:00-17:00"),
		RedisMaintenanceWindow:     r.str("redisMaintenanceWindow", "sun:20:00-sun:21:00"),
	}
}

// awsOwnedKey (redisKmsKey) encrypts the cache with ElastiCache's own key instead of a
// customer-managed one: what a cache created without kmsKeyId has, and keeps.
const awsOwnedKey = "aws-owned"

// RoutingConfig configures the load balancer: TLS, the domain, draining and health checks.
type RoutingConfig struct {
	// DomainName (domainName, optional) turns on HTTPS with an ACM certificate.
	DomainName string
	// CertificateArn (certificateArn, optional) is a team's own ACM certificate for HTTPS.
	CertificateArn string
	// HostedZoneID and HostedZoneName (optional) find the Route 53 zone of domainName; by
	// default the zone named after the domain's parent ("example.com" for "app.example.com").
	HostedZoneID   string
	HostedZoneName string
	// TakeOverDomain (takeOverDomain, default false) lets the domain's alias record replace one
	// that exists: a stack restored in the DR region taking over production's name.
	TakeOverDomain bool
	// AllowPlainHTTP (allowPlainHttp, default false) lets a protected stack serve plain HTTP,
	// without domainName or certificateArn; "pulumi up" refuses that by default.
	AllowPlainHTTP bool
	// AlbDeletionProtection (albDeletionProtection, default true) stops the ALB's deletion.
	AlbDeletionProtection bool
	// DeregistrationDelaySeconds (deregistrationDelaySeconds, default 30) drains a target.
	DeregistrationDelaySeconds int
	// HealthCheckGracePeriodSeconds (healthCheckGracePeriodSeconds, default 60) lets a task
	// start before the load balancer's health checks count.
	HealthCheckGracePeriodSeconds int
}

// routing reads the load balancer's keys, with their defaults.
func (r *configReader) routing() RoutingConfig {
	return RoutingConfig{
		DomainName:                    r.str("domainName", ""),
		CertificateArn:                r.str("certificateArn", ""),
		HostedZoneID:                  r.str("hostedZoneId", ""),
		HostedZoneName:                r.str("hostedZoneName", ""),
		TakeOverDomain:                r.boolean("takeOverDomain", false),
		AllowPlainHTTP:                r.boolean("allowPlainHttp", false),
		AlbDeletionProtection:         r.boolean("albDeletionProtection", true),
		DeregistrationDelaySeconds:    r.integer("deregistrationDelaySeconds", 30),
		HealthCheckGracePeriodSeconds: r.integer("healthCheckGracePeriodSeconds", 60),
	}
}

// FirewallConfig is the web ACL of the load balancer.
type FirewallConfig struct {
	// Enabled (waf, default false; production true) puts AWS WAF in front of the load
	// balancer: AWS's managed rules and a rate limit per client IP.
	Enabled bool
	// RateLimit (wafRateLimit, default 2000) is how many requests one client IP may send in 5
	// minutes before its next ones are blocked.
	RateLimit int
	// Mode (wafMode, default "count") is what the rules do with what they match: "count" only
	// counts and logs it (the first rollout, until the logs show what the rules would block),
	// "block" blocks it.
	Mode string
	// RateLimitPaths (wafRateLimitPaths, default all) are the path prefixes the rate limit
	// counts requests to: ["/api/auth/"] limits the logins, and leaves the depots that share one
	// NAT address free to call the rest of the API.
	RateLimitPaths []string
}

// firewall reads the firewall's keys, with their defaults.
func (r *configReader) firewall() FirewallConfig {
	return FirewallConfig{
		Enabled:        r.boolean("waf", false),
		RateLimit:      r.integer("wafRateLimit", 2000),
		Mode:           r.str("wafMode", wafCount),
		RateLimitPaths: r.list("wafRateLimitPaths", nil),
	}
}

// AccountSettingsConfig says whether the stack owns its account's settings, and what they
// cover besides the stack's own needs.
type AccountSettingsConfig struct {
	// Owner (accountSettingsOwner, default false; production: true) declares the account's
	// settings in this stack.
	Owner bool
	// ReplicatedRepositories (accountReplicatedRepositories, optional) are, by DR region, the
	// repositories of the account's other stacks (names, or prefixes of names) that the
	// owner's registry replication copies there.
	ReplicatedRepositories map[string][]string
}

// accountSettings reads the account settings' keys, with their defaults.
func (r *configReader) accountSettings() AccountSettingsConfig {
	return AccountSettingsConfig{
		Owner:                  r.boolean("accountSettingsOwner", false),
		ReplicatedRepositories: r.listMap("accountReplicatedRepositories"),
	}
}

// maxRateLimitPaths bounds wafRateLimitPaths.
const maxRateLimitPaths = 10

// The firewall's modes (wafMode).
const (
	wafCount = "count"
	wafBlock = "block"
)

// AlarmThresholds are the thresholds of the alarms (keys "alarm<Name>").
type AlarmThresholds struct {
	MinHealthyTargets     int     // alarmMinHealthyTargets, default 1: fewer healthy targets alarm
	Http5xxPer5Minutes    int     // alarmHttp5xxPer5Minutes, default 10: more 5XX responses alarm
	DBCPUPercent          int     // alarmDbCpuPercent, default 80
	DBFreeStorageGB       int     // alarmDbFreeStorageGb, default 10: less free storage alarms
	DBConnections         int     // alarmDbConnections, default 80
	RedisCPUPercent       int     // alarmRedisCpuPercent, default 75
	RedisMemoryPercent    int     // alarmRedisMemoryPercent, default 90
	ServiceCPUPercent     int     // alarmServiceCpuPercent, default 90: a service near its CPU limit
	ServiceMemoryPercent  int     // alarmServiceMemoryPercent, default 90
	ResponseTimeP95Second float64 // alarmResponseTimeP95Seconds, default 2: slow target responses
	WafBlockedPer5Minutes int     // alarmWafBlockedPer5Minutes, default 100: more blocked requests alarm
}

// alarmThresholds reads the alarms' thresholds, with their defaults.
func (r *configReader) alarmThresholds() AlarmThresholds {
	return AlarmThresholds{
		MinHealthyTargets:     r.integer("alarmMinHealthyTargets", 1),
		Http5xxPer5Minutes:    r.integer("alarmHttp5xxPer5Minutes", 10),
		DBCPUPercent:          r.integer("alarmDbCpuPercent", 80),
		DBFreeStorageGB:       r.integer("alarmDbFreeStorageGb", 10),
		DBConnections:         r.integer("alarmDbConnections", 80),
		RedisCPUPercent:       r.integer("alarmRedisCpuPercent", 75),
		RedisMemoryPercent:    r.integer("alarmRedisMemoryPercent", 90),
		ServiceCPUPercent:     r.integer("alarmServiceCpuPercent", 90),
		ServiceMemoryPercent:  r.integer("alarmServiceMemoryPercent", 90),
		ResponseTimeP95Second: r.number("alarmResponseTimeP95Seconds", 2),
		WafBlockedPer5Minutes: r.integer("alarmWafBlockedPer5Minutes", 100),
	}
}

// ServiceConfig is one ECS service. Its role is fixed by the program (the fields before
// ImageTag); the rest is config, read from the keys "<name><Key>" (backendCpu,
// frontendMinTasks). A key exists for a service when the program gives it a default: only the
// backend has path patterns, secrets and request-count scaling.
type ServiceConfig struct {
	// Name keys the service: its logical names, its config keys, its physical names.
	Name string
	// ServiceName (ServiceName, default "<prefix>-<name>") names the ECS service and
	// RepositoryName (RepositoryName, default "<prefix>/<name>") its image repository.
	ServiceName    string
	RepositoryName string
	// LogGroupName (LogGroupName, default "/ecs/<prefix>/<name>") is the CloudWatch log group
	// its containers write to; a change replaces the group, whose history goes with it.
	LogGroupName string
	// DefaultRoute gets every request that no other service's path patterns claim.
	DefaultRoute bool
	// DataTier reaches PostgreSQL and Redis, gets their settings and secrets, and reads and
	// writes the uploads bucket.
	DataTier bool
	// Exec turns on ECS Exec (migrations, debugging), with its logged sessions.
	Exec bool
	// Worker runs without the load balancer (a background worker, declared in the key
	// workers): no port, target group or routing rule; it scales on CPU and memory, and on its
	// queue's backlog when it has one. Its data-tier access is config (DataTier).
	Worker bool

	CPU             int    // Cpu: Fargate CPU units
	Memory          int    // Memory: MiB
	Port            int    // Port: the container port
	ImageTag        string // ImageTag: the released image; unset (the default) deploys no service yet
	HealthCheckPath string // HealthCheckPath: what the load balancer probes
	User            string // User: the container user, "" for the image's own
	DesiredCount    int    // DesiredCount: tasks at creation, default MinTasks
	MinTasks        int    // MinTasks and MaxTasks bound autoscaling
	MaxTasks        int
	CPUTarget       int // CpuTarget: target tracking on average CPU, percent
	MemoryTarget    int // MemoryTarget: target tracking on average memory, percent
	// RequestsPerTarget tracks ALB requests per target; 0 turns it off.
	RequestsPerTarget int
	// ReadonlyRootFilesystem (ReadonlyRootFilesystem, default true) mounts the image read-only
	// (Security Hub ECS.5); WritablePaths (WritablePaths) are the directories that stay
	// writable, each an empty volume of the task's ephemeral storage.
	ReadonlyRootFilesystem bool
	WritablePaths          []string
	// PathPatterns (PathPatterns) are routed to the service; nil for the default route.
	PathPatterns []string
	// Secrets (Secrets) maps extra environment variables to secrets the team keeps (SSM
	// parameter names or ARNs, Secrets Manager ARNs); ManagedSecrets (ManagedSecrets) are
	// variables whose Secrets Manager secret the program declares without a value.
	Secrets        map[string]string
	ManagedSecrets []string
	// QueueName (QueueName, workers only, optional) is an SQS queue of the team's in the stack's
	// region that the worker consumes: it may receive and delete its messages, and it scales to
	// keep MessagesPerTask (MessagesPerTask, default 100) visible messages per running task.
	QueueName       string
	MessagesPerTask int
	// QueueAgeAlarmSeconds (QueueAgeAlarmSeconds, workers with a queue, default 900) pages
	// when the queue's oldest message is older: the worker is stuck or cannot keep up.
	QueueAgeAlarmSeconds int
}

// programServices are the program's own services, backend and frontend: their roles, and their keys with their defaults.
func (r *configReader) programServices(prefix string) []ServiceConfig {
	return []ServiceConfig{
		r.service(ServiceConfig{
			Name: "backend", DataTier: true, Exec: true,
			ServiceName: prefix + "-backend", RepositoryName: prefix + "/backend", LogGroupName: "/ecs/" + prefix + "/backend",
			CPU: 1024, Memory: 2048, Port: 8000, HealthCheckPath: "/health", User: "1000",
			MinTasks: 2, MaxTasks: 10, CPUTarget: 70, MemoryTarget: 80, RequestsPerTarget: 1000,
			ReadonlyRootFilesystem: true, WritablePaths: []string{"/tmp"},
			PathPatterns: []string{"/api/*"}, Secrets: map[string]string{}, ManagedSecrets: []string{},
		}),
		r.service(ServiceConfig{
			Name: "frontend", DefaultRoute: true,
			ServiceName: prefix + "-frontend", RepositoryName: prefix + "/frontend", LogGroupName: "/ecs/" + prefix + "/frontend",
			CPU: 512, Memory: 1024, Port: 80, HealthCheckPath: "/", User: "",
			MinTasks: 2, MaxTasks: 6, CPUTarget: 70, MemoryTarget: 80,
			// Where nginx writes: its temporary files, its pid file, and /tmp.
			ReadonlyRootFilesystem: true, WritablePaths: []string{"/tmp", "/var/cache/nginx", "/var/run"},
		}),
	}
}

// workerService is a worker's role and defaults: a small task, one at least, scaled on CPU and
// memory.
func workerService(prefix, name string) ServiceConfig {
	return ServiceConfig{
		Name: name, Worker: true,
		ServiceName: prefix + "-" + name, RepositoryName: prefix + "/" + name, LogGroupName: "/ecs/" + prefix + "/" + name,
		CPU: 512, Memory: 1024, User: "1000", MinTasks: 1, MaxTasks: 4, CPUTarget: 70, MemoryTarget: 80,
		ReadonlyRootFilesystem: true, WritablePaths: []string{"/tmp"},
		Secrets: map[string]string{}, ManagedSecrets: []string{}, MessagesPerTask: 100, QueueAgeAlarmSeconds: 900,
	}
}

// service reads the keys of one service, "<name>Cpu", "<name>MinTasks", ...: def is the
// service's role and defaults. The keys of path patterns, secrets and request-count scaling
// exist only for a service whose default has them.
func (r *configReader) service(def ServiceConfig) ServiceConfig {
	key := func(k string) string { return def.Name + k }
	s := def
	type intKey struct {
		key   string
		field *int
	}
	type strKey struct {
		key   string
		field *string
	}
	ints := []intKey{{"Cpu", &s.CPU}, {"Memory", &s.Memory}, {"Port", &s.Port}, {"MinTasks", &s.MinTasks}, {"MaxTasks", &s.MaxTasks},
		{"CpuTarget", &s.CPUTarget}, {"MemoryTarget", &s.MemoryTarget}}
	strs := []strKey{{"ImageTag", &s.ImageTag}, {"HealthCheckPath", &s.HealthCheckPath}, {"User", &s.User},
		{"ServiceName", &s.ServiceName}, {"RepositoryName", &s.RepositoryName}, {"LogGroupName", &s.LogGroupName}}
	if def.Worker {
		// A worker has no port and no health check path: the load balancer's.
		ints = slices.DeleteFunc(ints, func(k intKey) bool { return k.key == "Port" })
		strs = slices.DeleteFunc(strs, func(k strKey) bool { return k.key == "HealthCheckPath" })
	}
	// In this order, so that problems are reported in a stable one.
	for _, f := range ints {
		*f.field = r.integer(key(f.key), *f.field)
	}
	for _, f := range strs {
		*f.field = r.str(key(f.key), *f.field)
	}
	if def.Worker {
		s.DataTier = r.boolean(key("DataTier"), def.DataTier)
		s.QueueName = r.str(key("QueueName"), "")
		s.MessagesPerTask = r.integer(key("MessagesPerTask"), def.MessagesPerTask)
		s.QueueAgeAlarmSeconds = r.integer(key("QueueAgeAlarmSeconds"), def.QueueAgeAlarmSeconds)
	}
	s.ReadonlyRootFilesystem = r.boolean(key("ReadonlyRootFilesystem"), def.ReadonlyRootFilesystem)
	s.WritablePaths = r.list(key("WritablePaths"), def.WritablePaths)
	// The desired count starts at the minimum unless set; autoscaling owns it afterwards.
	s.DesiredCount = r.integer(key("DesiredCount"), s.MinTasks)
	if def.RequestsPerTarget > 0 {
		s.RequestsPerTarget = r.integer(key("RequestsPerTarget"), def.RequestsPerTarget)
	}
	if def.PathPatterns != nil {
		s.PathPatterns = r.list(key("PathPatterns"), def.PathPatterns)
	}
	if def.Secrets != nil {
		s.Secrets = r.strMap(key("Secrets"))
		s.ManagedSecrets = r.list(key("ManagedSecrets"), def.ManagedSecrets)
	}
	return s
}

// HTTPS is true when the load balancer terminates TLS: with a domain (ACM certificate) or a
// certificate of the team's own.
func (r RoutingConfig) HTTPS() bool { return r.DomainName != "" || r.CertificateArn != "" }

// ZoneName is the Route 53 zone the domain's records go in: hostedZoneName if set, else the
// domain's parent ("example.com" for "app.example.com"), else the domain itself.
func (r RoutingConfig) ZoneName() string {
	if r.HostedZoneName != "" {
		return r.HostedZoneName
	}
	if labels := strings.Split(r.DomainName, "."); len(labels) > 2 {
		return strings.Join(labels[1:], ".")
	}
	return r.DomainName
}

// Service returns the service of a name, or nil.
func (c *Config) Service(name string) *ServiceConfig {
	for i := range c.Services {
		if c.Services[i].Name == name {
			return &c.Services[i]
		}
	}
	return nil
}

// Prefix is the name prefix of everything an operator types: "<projectName>-<environment>".
func (c *Config) Prefix() string { return c.ProjectName + "-" + c.Environment }

// replicaName is the name of a bucket's replica in the DR region.
func replicaName(source, region string) string { return source + "-" + region }

// bucketName is the configured name or, when unset, "<prefix>-<purpose>-<account id>": the
// account id makes it globally unique, and config validation keeps it within 63 characters.
func bucketName(configured, prefix, purpose, accountID string) string {
	if configured != "" {
		return configured
	}
	return fmt.Sprintf("%s-%s-%s", prefix, purpose, accountID)
}

// registryRules are the owner's registry replication rules: by DR region, the repository
// name prefixes copied there, the stack's own under its drRegion. Sorted, for a stable plan.
func (c *Config) registryRules() map[string][]string {
	rules := map[string][]string{}
	for region, prefixes := range c.AccountSettings.ReplicatedRepositories {
		rules[region] = append(rules[region], prefixes...)
	}
	if c.DrRegion != "" {
		for _, svc := range c.Services {
			rules[c.DrRegion] = append(rules[c.DrRegion], svc.RepositoryName)
		}
	}
	for region := range rules {
		sort.Strings(rules[region])
		rules[region] = slices.Compact(rules[region])
	}
	return rules
}

// DefaultTags are the tags the provider puts on every taggable resource. The tags config map
// comes first so that it can never override the three tags the program relies on.
func (c *Config) DefaultTags() map[string]string {
	tags := map[string]string{}
	for k, v := range c.Tags {
		tags[k] = v
	}
	tags["Project"] = c.ProjectName
	tags["Environment"] = c.Environment
	tags["ManagedBy"] = "pulumi"
	return tags
}

// defaultRegion is the seed's aws_region.
const defaultRegion = "ap-northeast-2"

// configKeys lists every key the program reads, as "pulumi config set" takes it.
func configKeys(project string) []string {
	_, r := readConfig(project, "", map[string]string{})
	keys := make([]string, 0, len(r.known))
	for k := range r.known {
		keys = append(keys, r.shortKey(k))
	}
	sort.Strings(keys)
	return keys
}

// readConfig reads every key with its default; it is the one place defaults are written.
func readConfig(project, stack string, raw map[string]string) (*Config, *configReader) {
	r := &configReader{namespace: project, raw: raw, known: map[string]bool{}}
	projectName := r.str("projectName", "coldchain")
	environment := r.str("environment", stack)
	prefix := projectName + "-" + environment
	redisEngine := r.str("redisEngine", "redis")
	c := &Config{
		ProjectName:       projectName,
		Environment:       environment,
		Region:            r.str("aws:region", defaultRegion),
		Profile:           r.str("aws:profile", ""),
		AllowedAccountIDs: r.list("allowedAccountIds", nil),
		Tags:              r.strMap("tags"),
		DrRegion:          r.str("drRegion", ""),
		AccountSettings:   r.accountSettings(),

		VpcCidr:              r.str("vpcCidr", "10.0.0.0/16"),
		NatGateways:          r.str("natGateways", natOnePerAz),
		FlowLogRetentionDays: r.integer("flowLogRetentionDays", 90),
		SubnetCidrs:          r.subnetCidrs(),
		AvailabilityZones:    r.list("availabilityZones", nil),
		S3GatewayEndpoint:    r.boolean("s3GatewayEndpoint", true),

		CostUsage:  r.numberMap("costUsage"),
		AlarmEmail: r.str("alarmEmail", ""),
		Frozen:     r.str("frozen", ""),

		UploadsBucketName: r.str("uploadsBucketName", ""),
		BackupsBucketName: r.str("backupsBucketName", ""),
		LogsBucketName:    r.str("logsBucketName", ""),

		Protect:               r.boolean("protect", true),
		ForceDestroy:          r.boolean("forceDestroy", false),
		LogRetentionDays:      r.integer("logRetentionDays", 30),
		KMSDeletionWindowDays: r.integer("kmsDeletionWindowDays", 30),
		SecretRecoveryDays:    r.integer("secretRecoveryDays", 30),

		Database: r.database(prefix, redisEngine),

		NoncurrentVersionExpirationDays: r.integer("noncurrentVersionExpirationDays", 90),
		BackupsArchiveAfterDays:         r.integer("backupsArchiveAfterDays", 30),
		LogsExpirationDays:              r.integer("logsExpirationDays", 90),

		EcrMaxImages:          r.integer("ecrMaxImages", 30),
		EcrImageTagMutability: r.str("ecrImageTagMutability", "IMMUTABLE"),
		EcrEncryption:         r.str("ecrEncryption", "KMS"),

		RolePermissionsBoundary: r.str("rolePermissionsBoundary", ""),

		ClusterName:       r.str("clusterName", prefix),
		ContainerInsights: r.boolean("containerInsights", true),
		Firewall:          r.firewall(),

		Services:         r.programServices(prefix),
		Routing:          r.routing(),
		CPUArchitecture:  r.str("cpuArchitecture", "X86_64"),
		FargateSpot:      r.boolean("fargateSpot", false),
		ScaleInCooldown:  r.integer("scaleInCooldownSeconds", 300),
		ScaleOutCooldown: r.integer("scaleOutCooldownSeconds", 60),

		Alarms: r.alarmThresholds(),
	}
	// The workers follow the program's services, in the order given; each one's keys exist
	// once it is declared (TestNoWorkerKeyIsAProgramKey keeps them apart from the program's).
	c.Workers = r.list("workers", nil)
	for _, name := range c.Workers {
		if workerNamePattern.MatchString(name) && c.Service(name) == nil {
			c.Services = append(c.Services, r.service(workerService(prefix, name)))
		}
	}
	return c, r
}

// workerNamePattern is a worker's name: it starts its config keys (dispatcherCpu) and its
// physical names, so lowercase letters and digits, 2 to 20.
var workerNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]{1,19}$`)
