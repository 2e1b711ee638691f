package main

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AlarmsArgs names what the alarms watch.
type AlarmsArgs struct {
	Account awsAccount
	Prefix  string
	// TopicArn is the alarm topic (NewAlarmTopic) every alarm notifies.
	TopicArn pulumi.StringInput
	// Thresholds are the alarms' thresholds.
	Thresholds AlarmThresholds

	ClusterName  pulumi.StringInput
	AlbArnSuffix pulumi.StringInput
	// Services are the services in order, released or not; DefaultRoute names the one that
	// gets every request no path pattern claims.
	Services     []WatchedService
	DefaultRoute string
	// DBInstanceID is the DBInstanceIdentifier of the database's metrics.
	DBInstanceID pulumi.StringInput
	// RedisMemberClusters are the CacheClusterIds of the cache's metrics; RedisLogGroup is
	// where its slow log goes.
	RedisMemberClusters []pulumi.StringOutput
	RedisLogGroup       pulumi.StringInput
	// Firewall is the load balancer's web ACL, nil without one.
	Firewall *Firewall
	// Replications are the buckets' copies to the DR region, none without one.
	Replications []Replication
}

// WatchedService is what the alarms watch of one service.
type WatchedService struct {
	// Key is the service's name in config ("backend").
	Key string
	// Deployed is false until the service's image tag is set: it has no alarm before.
	Deployed bool
	// Name is the ECS service's name; LogGroup its log group, which the alarms point to.
	Name     pulumi.StringInput
	LogGroup pulumi.StringInput
	// TargetGroupArnSuffix is the TargetGroup dimension of its target group's metrics.
	TargetGroupArnSuffix pulumi.StringInput
	// Service is the ECS service, which its alarms wait for.
	Service pulumi.Resource
	// QueueName is the SQS queue a worker consumes, "" for none; QueueAgeAlarmSeconds the age
	// of its oldest message that pages.
	QueueName            string
	QueueAgeAlarmSeconds int
}

// AlarmTopicArgs configures where the alarms go.
type AlarmTopicArgs struct {
	Account awsAccount
	Prefix  string
	// Email receives the notifications; it must confirm the subscription.
	Email string
	// Protect protects the topic's key.
	Protect bool
	// KeyDeletionWindowDays is the wait before a deleted key is gone.
	KeyDeletionWindowDays int
}

// AlarmTopic is the encrypted SNS topic every alarm notifies. It comes before the services,
// whose deployment alarms (deploymentAlarmSpecs) notify it too.
type AlarmTopic struct {
	pulumi.ResourceState

	TopicArn pulumi.StringOutput
}

// NewAlarmTopic creates the alarm topic, its key and policy, and the e-mail subscription.
func NewAlarmTopic(ctx *pulumi.Context, name string, args *AlarmTopicArgs, opts ...pulumi.ResourceOption) (*AlarmTopic, error) {
	a := &AlarmTopic{}
	if err := ctx.RegisterComponentResource("coldchain:index:AlarmTopic", name, a, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Composite(pulumi.Parent(a), movedFromAlarms(ctx))

	// An AWS-managed SNS key cannot be used by CloudWatch, which then drops the notifications
	// silently; this key lets CloudWatch encrypt what it publishes.
	key, err := kms.NewKey(ctx, "alarms", &kms.KeyArgs{
		Description:          pulumi.String("Encrypts the alarm notifications of " + args.Prefix),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(args.KeyDeletionWindowDays),
		Policy:               alarmKeyPolicy(args.Account),
	}, child, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, fmt.Errorf("creating alarm topic key: %w", err)
	}
	topic, err := sns.NewTopic(ctx, "alarms", &sns.TopicArgs{
		Name:           pulumi.String(args.Prefix + "-alarms"),
		DisplayName:    pulumi.String(args.Prefix + " alarms"),
		KmsMasterKeyId: key.Arn,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("creating alarm topic: %w", err)
	}
	if _, err := sns.NewTopicPolicy(ctx, "alarms", &sns.TopicPolicyArgs{
		Arn:    topic.Arn,
		Policy: alarmTopicPolicy(args.Account, topic.Arn),
	}, child, oncePerParent); err != nil {
		return nil, fmt.Errorf("creating alarm topic policy: %w", err)
	}
	if _, err := sns.NewTopicSubscription(ctx, "alarms-email", &sns.TopicSubscriptionArgs{
		Topic:    topic.Arn,
		Protocol: pulumi.String("email"),
		Endpoint: pulumi.String(args.Email),
	}, child); err != nil {
		return nil, fmt.Errorf("subscribing %s to the alarm topic: %w", args.Email, err)
	}
	a.TopicArn = topic.Arn
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{"topicArn": a.TopicArn}); err != nil {
		return nil, err
	}
	return a, nil
}

// movedFromAlarms keeps the URN a resource had under the Alarms component, which created the
// alarm topic, its key, policy and subscription, and the services' deployment alarms until
// they moved out (the services notify the topic, so it comes before them). Without it, a stack
// deployed before the move would replace the topic, whose e-mail subscription the on-call
// must confirm again (alarms go nowhere until then), and schedule its key for deletion.
func movedFromAlarms(ctx *pulumi.Context) pulumi.ResourceOption {
	former := fmt.Sprintf("urn:pulumi:%s::%s::coldchain:index:Alarms::alarms", ctx.Stack(), ctx.Project())
	return pulumi.Aliases([]pulumi.Alias{{ParentURN: pulumi.URN(former)}})
}

// Alarms is the alarms that watch the running stack, and the dashboard.
type Alarms struct {
	pulumi.ResourceState

	DashboardName pulumi.StringOutput
}

// NewAlarms creates the alarms of the seed and those a production team also pages on (the
// services' deployment alarms excepted: the services area creates them before the services),
// and a dashboard of the key metrics. It comes after the services, so that the alarms on
// healthy targets start watching once the first deployment has reached steady state instead of
// paging while it starts.
func NewAlarms(ctx *pulumi.Context, name string, args *AlarmsArgs, opts ...pulumi.ResourceOption) (*Alarms, error) {
	a := &Alarms{}
	if err := ctx.RegisterComponentResource("coldchain:index:Alarms", name, a, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(a)

	m := newMetrics(args)
	if _, err := createAlarms(ctx, args.Prefix, args.TopicArn, alarmSpecs(args, m), child); err != nil {
		return nil, err
	}

	var names []string
	for _, ref := range args.Services {
		names = append(names, ref.Key)
	}
	body := dashboardBody(args.Account.Region, dashboardWidgets(m, names))
	dashboard, err := cloudwatch.NewDashboard(ctx, "dashboard", &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(args.Prefix),
		DashboardBody: body,
		// PutDashboard overwrites a dashboard of the same name, so a replacement created first
		// would be deleted with the old one.
	}, child, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("creating dashboard: %w", err)
	}
	a.DashboardName = dashboard.DashboardName

	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{
		"dashboardName": a.DashboardName,
	}); err != nil {
		return nil, err
	}
	return a, nil
}

// alarmKeyPolicy lets the account administer the key and use it through SNS, and CloudWatch
// encrypt the notifications it publishes.
func alarmKeyPolicy(account awsAccount) pulumi.StringOutput {
	return policyJSON(
		keyAdministration(account),
		keyUseThrough(account, "UseThroughSNS", []string{"kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"}, "sns"),
		statement{
			Sid:        "CloudWatchPublishesAlarms",
			Principals: servicePrincipal("cloudwatch.amazonaws.com"),
			Actions:    []string{"kms:Decrypt", "kms:GenerateDataKey*"},
			Resources:  []pulumi.StringInput{pulumi.String("*")}, // a key policy's resource is the key itself
			Conditions: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": account.AccountID}},
		},
	)
}

// alarmTopicPolicy lets this account manage the topic and only its own alarms publish to it.
func alarmTopicPolicy(account awsAccount, topicArn pulumi.StringOutput) pulumi.StringOutput {
	return policyJSON(
		statement{
			Sid:        "AccountManagesTopic",
			Principals: map[string]any{"AWS": account.arn("iam", "", "root")},
			Actions: []string{"sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission",
				"sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic"},
			Resources: []pulumi.StringInput{topicArn},
		},
		statement{
			Sid:        "AccountAlarmsPublish",
			Principals: servicePrincipal("cloudwatch.amazonaws.com"),
			Actions:    []string{"sns:Publish"},
			Resources:  []pulumi.StringInput{topicArn},
			Conditions: map[string]map[string]any{
				"ArnLike":      {"aws:SourceArn": account.arn("cloudwatch", account.Region, "alarm:*")},
				"StringEquals": {"aws:SourceAccount": account.AccountID},
			},
		},
	)
}

// alarmSpec is one alarm on one metric.
type alarmSpec struct {
	// id is the logical name and the end of the alarm's name.
	id     string
	metric metric
	// comparison is a CloudWatch comparison operator; threshold its right-hand side.
	comparison string
	threshold  float64
	// evaluationPeriods of the metric's period must all breach for the alarm to fire: no
	// alarm here tolerates a datapoint in between.
	evaluationPeriods int
	// missing is how missing data counts: "breaching", "notBreaching" or "missing".
	missing string
	// description says what fired and what to do.
	description pulumi.StringInput
	// after, when set, is what the alarm waits for: an alarm on a service's targets starts
	// watching once the service has reached steady state, not while its first tasks start.
	after pulumi.Resource
}

// createAlarms makes the alarms of specs, in order.
func createAlarms(ctx *pulumi.Context, prefix string, topicArn pulumi.StringInput, specs []alarmSpec, opts ...pulumi.ResourceOption) ([]*cloudwatch.MetricAlarm, error) {
	var out []*cloudwatch.MetricAlarm
	for _, spec := range specs {
		alarm, err := spec.create(ctx, prefix, topicArn, opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, alarm)
	}
	return out, nil
}

// create makes the alarm, with alarm and OK actions to the topic.
func (s alarmSpec) create(ctx *pulumi.Context, prefix string, topicArn pulumi.StringInput, opts ...pulumi.ResourceOption) (*cloudwatch.MetricAlarm, error) {
	dims := pulumi.StringMap{}
	for _, d := range s.metric.dimensions {
		dims[d.name] = d.value
	}
	args := &cloudwatch.MetricAlarmArgs{
		// The name carries the prefix: it is the subject of the e-mail, where "production" or
		// "staging" is the first thing the reader needs.
		Name:               pulumi.String(prefix + "-" + s.id),
		AlarmDescription:   s.description,
		Namespace:          pulumi.String(s.metric.namespace),
		MetricName:         pulumi.String(s.metric.name),
		Dimensions:         dims,
		Period:             pulumi.Int(s.metric.period),
		EvaluationPeriods:  pulumi.Int(s.evaluationPeriods),
		DatapointsToAlarm:  pulumi.Int(s.evaluationPeriods),
		Threshold:          pulumi.Float64(s.threshold),
		ComparisonOperator: pulumi.String(s.comparison),
		TreatMissingData:   pulumi.String(s.missing),
		AlarmActions:       pulumi.Array{topicArn},
		OkActions:          pulumi.Array{topicArn},
	}
	if s.metric.percentile() {
		args.ExtendedStatistic = pulumi.String(s.metric.stat)
	} else {
		args.Statistic = pulumi.String(s.metric.stat)
	}
	opts = append(opts,
		// PutMetricAlarm overwrites an alarm of the same name, so a replacement created first
		// would be deleted with the old one.
		pulumi.DeleteBeforeReplace(true))
	if s.after != nil {
		opts = append(opts, pulumi.DependsOn([]pulumi.Resource{s.after}))
	}
	alarm, err := cloudwatch.NewMetricAlarm(ctx, s.id, args, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating alarm %s: %w", s.id, err)
	}
	return alarm, nil
}

// replicationAlarmSpecs page when S3 fails to copy an object of a bucket to its DR replica
// (a key it may not use, a replica bucket gone): S3 does not retry those, so the copy the
// failover relies on misses them until they are written again or batch-replicated.
func replicationAlarmSpecs(replications []Replication) []alarmSpec {
	var specs []alarmSpec
	for _, r := range replications {
		dims := []dimension{{"SourceBucket", r.SourceBucket}, {"DestinationBucket", r.Destination}, {"RuleId", pulumi.String(r.RuleID)}}
		specs = append(specs, alarmSpec{id: r.Purpose + "-replication-failed",
			metric:     metric{r.Purpose + " replication failures", "AWS/S3", "OperationsFailedReplication", "Sum", 300, dims},
			comparison: "GreaterThanOrEqualToThreshold", threshold: 1, evaluationPeriods: 1, missing: "notBreaching",
			description: pulumi.Sprintf("S3 failed to copy objects of %s to its DR replica %s, and does not retry them: the "+
				"failover would miss them. Find them (S3 Batch Replication's failed-objects report, or the s3:Replication:"+
				"OperationFailedReplication events), fix the cause (the replication role's access to the keys and the replica), "+
				"then replicate them again with S3 Batch Replication (docs/disaster-recovery.md).", r.SourceBucket, r.Destination)})
	}
	return specs
}

// alarmSpecs are the seed's alarms and what a production team also pages on.
func alarmSpecs(args *AlarmsArgs, m *metrics) []alarmSpec {
	t := args.Thresholds
	var specs []alarmSpec
	for _, ref := range args.deployed() {
		svc, logs := ref.Key, ref.LogGroup
		if healthy, ok := m.healthyHosts[svc]; ok {
			specs = append(specs, alarmSpec{id: svc + "-unhealthy-targets", metric: healthy, after: ref.Service,
				comparison: "LessThanThreshold", threshold: float64(t.MinHealthyTargets), evaluationPeriods: 2,
				// No data means no target reports healthy at all.
				missing: "breaching",
				description: pulumi.Sprintf("Fewer than %d healthy %s targets. Check the service's events "+
					"(aws ecs describe-services) and its logs (aws logs tail %s), then the health check path.", t.MinHealthyTargets, svc, logs)})
		}
		if ref.QueueName != "" {
			age := metric{svc + " queue's oldest message (s)", "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", 300,
				[]dimension{{"QueueName", pulumi.String(ref.QueueName)}}}
			specs = append(specs, alarmSpec{id: svc + "-queue-age", metric: age, after: ref.Service,
				comparison: "GreaterThanThreshold", threshold: float64(ref.QueueAgeAlarmSeconds), evaluationPeriods: 3,
				// SQS publishes the metric for a queue that exists; none means nothing to age.
				missing: "notBreaching",
				description: pulumi.Sprintf("The oldest message of %s has waited more than %d seconds for 15 minutes: the %s "+
					"is stuck or cannot keep up. Check its logs (aws logs tail %s), its task count against %sMaxTasks, and "+
					"messages it fails on again and again.", ref.QueueName, ref.QueueAgeAlarmSeconds, svc, logs, svc)})
		}
		specs = append(specs,
			alarmSpec{id: svc + "-cpu", metric: m.serviceCPU[svc],
				comparison: "GreaterThanThreshold", threshold: float64(t.ServiceCPUPercent), evaluationPeriods: 3,
				missing: "missing",
				description: pulumi.Sprintf("The %s uses more than %d%% of its CPU for 15 minutes although autoscaling "+
					"should add tasks: it may be at its maximum task count. Raise %sMaxTasks or %sCpu.", svc, t.ServiceCPUPercent, svc, svc)},
			alarmSpec{id: svc + "-memory", metric: m.serviceMemory[svc],
				comparison: "GreaterThanThreshold", threshold: float64(t.ServiceMemoryPercent), evaluationPeriods: 3,
				missing: "missing",
				description: pulumi.Sprintf("The %s uses more than %d%% of its memory: tasks may be killed out of memory. "+
					"Look for a leak in its logs (aws logs tail %s) or raise %sMemory.", svc, t.ServiceMemoryPercent, logs, svc)},
		)
	}
	if front := args.service(args.DefaultRoute); front != nil && front.Deployed {
		// Before the first release the load balancer answers 503 (no target) to whoever
		// scans it: that is no reason to page anyone.
		specs = append(specs, alarmSpec{id: "alb-5xx", metric: m.elb5xx, after: front.Service,
			comparison: "GreaterThanThreshold", threshold: float64(t.Http5xxPer5Minutes), evaluationPeriods: 1,
			missing: "notBreaching",
			description: pulumi.Sprintf("The load balancer itself returned more than %d 5XX responses in 5 minutes "+
				"(502/503/504: no healthy target, or targets closing connections). Check the unhealthy-targets alarms.", t.Http5xxPer5Minutes)})
	}
	specs = append(specs,
		alarmSpec{id: "db-cpu", metric: m.dbCPU,
			comparison: "GreaterThanThreshold", threshold: float64(t.DBCPUPercent), evaluationPeriods: 2,
			missing: "missing",
			description: pulumi.Sprintf("Database CPU above %d%% for 10 minutes. Find the expensive queries in Performance "+
				"Insights or the slow-query log; scale dbInstanceClass if the load is legitimate.", t.DBCPUPercent)},
		alarmSpec{id: "db-free-storage", metric: m.dbFreeStorage,
			comparison: "LessThanThreshold", threshold: float64(t.DBFreeStorageGB) * gib, evaluationPeriods: 1,
			missing: "missing",
			description: pulumi.Sprintf("Less than %d GB of database storage free. Storage autoscaling grows it up to "+
				"dbMaxAllocatedStorage: raise that if it is reached, and look for runaway tables.", t.DBFreeStorageGB)},
		alarmSpec{id: "db-connections", metric: m.dbConnections,
			comparison: "GreaterThanThreshold", threshold: float64(t.DBConnections), evaluationPeriods: 2,
			missing: "missing",
			description: pulumi.Sprintf("More than %d database connections. Check the backend's connection pool size "+
				"against its task count; a leak shows as connections growing while traffic does not.", t.DBConnections)},
	)
	for i, member := range m.redisCPU {
		n := fmt.Sprintf("%03d", i+1)
		specs = append(specs,
			alarmSpec{id: "redis-" + n + "-cpu", metric: member,
				comparison: "GreaterThanThreshold", threshold: float64(t.RedisCPUPercent), evaluationPeriods: 2,
				missing: "missing",
				description: pulumi.Sprintf("Redis node %s CPU above %d%% for 10 minutes. Look for expensive commands in the "+
					"slow log (%s); scale redisNodeType if the load is legitimate.", n, t.RedisCPUPercent, args.RedisLogGroup)},
			alarmSpec{id: "redis-" + n + "-memory", metric: m.redisMemory[i],
				comparison: "GreaterThanThreshold", threshold: float64(t.RedisMemoryPercent), evaluationPeriods: 2,
				missing: "missing",
				description: pulumi.Sprintf("Redis node %s memory above %d%%: keys are being evicted. Check the keys' TTLs "+
					"and the evictions on the dashboard; scale redisNodeType if needed.", n, t.RedisMemoryPercent)},
		)
	}
	if m.wafBlocked != nil {
		specs = append(specs, alarmSpec{id: "waf-blocked", metric: *m.wafBlocked,
			comparison: "GreaterThanThreshold", threshold: float64(t.WafBlockedPer5Minutes), evaluationPeriods: 1,
			missing: "notBreaching",
			description: pulumi.Sprintf("The firewall blocked more than %d requests in 5 minutes: an attack, a client over "+
				"wafRateLimit, or a managed rule blocking legitimate traffic. Read which rule blocked what in its logs "+
				"(aws logs tail aws-waf-logs-%s --filter-pattern BLOCK).", t.WafBlockedPer5Minutes, args.Prefix)})
	}
	return append(specs, replicationAlarmSpecs(args.Replications)...)
}

// deploymentAlarmSpecs are a service's own alarms that also judge its deployments: its 5XX
// responses and its p95 response time. ECS watches them while a deployment runs and bakes,
// and rolls the deployment back when one fires.
func deploymentAlarmSpecs(svc, prefix string, logGroup pulumi.StringInput, m targetMetrics, t AlarmThresholds) []alarmSpec {
	return []alarmSpec{
		{id: svc + "-target-5xx", metric: m.http5xx,
			comparison: "GreaterThanThreshold", threshold: float64(t.Http5xxPer5Minutes), evaluationPeriods: 1,
			missing: "notBreaching",
			description: pulumi.Sprintf("The %s returned more than %d 5XX responses in 5 minutes (during a deployment, ECS "+
				"rolls it back). Read its errors (aws logs tail %s) and check the database and Redis alarms.", svc, t.Http5xxPer5Minutes, logGroup)},
		{id: svc + "-response-time", metric: m.responseTime,
			comparison: "GreaterThanThreshold", threshold: t.ResponseTimeP95Second, evaluationPeriods: 3,
			missing: "notBreaching",
			description: pulumi.Sprintf("The %s's p95 response time is above %gs for 15 minutes (during a deployment, ECS rolls "+
				"it back). Check its CPU and memory, the database's connections and CPU, and the slow-query log.", svc, t.ResponseTimeP95Second)},
	}
}

// longestWindow is the longest time, in seconds, any of the alarms looks back: how long ECS
// keeps watching a finished deployment (its bake time) before calling it complete.
func longestWindow(specs []alarmSpec) int {
	longest := 0
	for _, s := range specs {
		longest = max(longest, s.evaluationPeriods*s.metric.period)
	}
	return longest
}

// gib is a gibibyte, the unit of FreeStorageSpace thresholds (the metric is in bytes).
const gib = 1024 * 1024 * 1024

// metric is one CloudWatch metric, named as CloudWatch publishes it.
type metric struct {
	label      string
	namespace  string
	name       string
	stat       string // Average, Sum, Minimum, Maximum, or a percentile such as p95
	period     int
	dimensions []dimension
}

type dimension struct {
	name  string
	value pulumi.StringInput
}

func (m metric) percentile() bool { return len(m.stat) > 1 && m.stat[0] == 'p' }

// metrics is every metric the alarms and the dashboard use, defined once.
type metrics struct {
	healthyHosts, target5xx, responseTime, targetRequests   map[string]metric
	serviceCPU, serviceMemory                               map[string]metric
	elb5xx, albRequests                                     metric
	dbCPU, dbFreeStorage, dbConnections                     metric
	dbReadIOPS, dbWriteIOPS, dbReadLatency, dbWriteLatency  metric
	redisCPU, redisMemory, redisEvictions, redisConnections []metric
	// wafBlocked and wafAllowed are the web ACL's verdicts on every request, when it has one.
	wafBlocked, wafAllowed *metric
}

func newMetrics(args *AlarmsArgs) *metrics {
	m := &metrics{
		healthyHosts: map[string]metric{}, target5xx: map[string]metric{}, responseTime: map[string]metric{},
		targetRequests: map[string]metric{}, serviceCPU: map[string]metric{}, serviceMemory: map[string]metric{},
	}
	lbDim := dimension{"LoadBalancer", args.AlbArnSuffix}
	for _, ref := range args.Services {
		svc := ref.Key
		if ref.TargetGroupArnSuffix != nil { // a worker has no target group
			tm := newTargetMetrics(svc, ref.TargetGroupArnSuffix, args.AlbArnSuffix)
			m.healthyHosts[svc], m.target5xx[svc], m.responseTime[svc], m.targetRequests[svc] = tm.healthyHosts, tm.http5xx, tm.responseTime, tm.requests
		}
		if !ref.Deployed {
			continue // no ECS service, no ECS metrics
		}
		service := []dimension{{"ClusterName", args.ClusterName}, {"ServiceName", ref.Name}}
		m.serviceCPU[svc] = metric{svc + " CPU", "AWS/ECS", "CPUUtilization", "Average", 300, service}
		m.serviceMemory[svc] = metric{svc + " memory", "AWS/ECS", "MemoryUtilization", "Average", 300, service}
	}
	lb := []dimension{lbDim}
	m.elb5xx = metric{"load balancer 5XX", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", 300, lb}
	m.albRequests = metric{"requests", "AWS/ApplicationELB", "RequestCount", "Sum", 300, lb}

	db := []dimension{{"DBInstanceIdentifier", args.DBInstanceID}}
	m.dbCPU = metric{"CPU", "AWS/RDS", "CPUUtilization", "Average", 300, db}
	m.dbFreeStorage = metric{"free storage", "AWS/RDS", "FreeStorageSpace", "Minimum", 300, db}
	m.dbConnections = metric{"connections", "AWS/RDS", "DatabaseConnections", "Maximum", 300, db}
	m.dbReadIOPS = metric{"read IOPS", "AWS/RDS", "ReadIOPS", "Average", 300, db}
	m.dbWriteIOPS = metric{"write IOPS", "AWS/RDS", "WriteIOPS", "Average", 300, db}
	m.dbReadLatency = metric{"read latency", "AWS/RDS", "ReadLatency", "Average", 300, db}
	m.dbWriteLatency = metric{"write latency", "AWS/RDS", "WriteLatency", "Average", 300, db}

	for i, member := range args.RedisMemberClusters {
		// A member cluster of a replication group without cluster mode has one node, "0001".
		node := []dimension{{"CacheClusterId", member}, {"CacheNodeId", pulumi.String("0001")}}
		n := fmt.Sprintf("node %03d", i+1)
		// CPUUtilization (the host's) is AWS's advice for nodes of 2 vCPUs or fewer, such as
		// the seed's cache.t3.medium.
		m.redisCPU = append(m.redisCPU, metric{n + " CPU", "AWS/ElastiCache", "CPUUtilization", "Average", 300, node})
		m.redisMemory = append(m.redisMemory, metric{n + " memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Average", 300, node})
		m.redisEvictions = append(m.redisEvictions, metric{n + " evictions", "AWS/ElastiCache", "Evictions", "Sum", 300, node})
		m.redisConnections = append(m.redisConnections, metric{n + " connections", "AWS/ElastiCache", "CurrConnections", "Maximum", 300, node})
	}
	if args.Firewall != nil {
		// Rule "ALL" is the web ACL's total over its rules, per region.
		acl := []dimension{{"WebACL", args.Firewall.WebACLName}, {"Region", pulumi.String(args.Account.Region)}, {"Rule", pulumi.String("ALL")}}
		m.wafBlocked = &metric{"blocked requests", "AWS/WAFV2", "BlockedRequests", "Sum", rateWindowSeconds, acl}
		m.wafAllowed = &metric{"allowed requests", "AWS/WAFV2", "AllowedRequests", "Sum", rateWindowSeconds, acl}
	}
	return m
}

// targetMetrics are the load balancer's metrics of one service's target group.
type targetMetrics struct {
	healthyHosts, http5xx, responseTime, requests metric
}

// newTargetMetrics names a target group's metrics as the load balancer publishes them: per
// target group and load balancer together.
func newTargetMetrics(svc string, targetGroupArnSuffix, albArnSuffix pulumi.StringInput) targetMetrics {
	tg := []dimension{{"TargetGroup", targetGroupArnSuffix}, {"LoadBalancer", albArnSuffix}}
	return targetMetrics{
		healthyHosts: metric{svc + " healthy targets", "AWS/ApplicationELB", "HealthyHostCount", "Minimum", 60, tg},
		http5xx:      metric{svc + " 5XX", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", 300, tg},
		responseTime: metric{svc + " p95", "AWS/ApplicationELB", "TargetResponseTime", "p95", 300, tg},
		requests:     metric{svc + " requests", "AWS/ApplicationELB", "RequestCount", "Sum", 300, tg},
	}
}

// widget is one graph of the dashboard.
type widget struct {
	title   string
	metrics []metric
}

// dashboardWidgets are the seed's key metrics: ECS CPU and memory; ALB requests, latency and
// errors; RDS connections, IOPS and latency; Redis evictions and connections.
func dashboardWidgets(m *metrics, names []string) []widget {
	widgets := []widget{
		{"ECS CPU utilization (%)", ofServices(m.serviceCPU, names)},
		{"ECS memory utilization (%)", ofServices(m.serviceMemory, names)},
		{"ALB requests", append([]metric{m.albRequests}, ofServices(m.targetRequests, names)...)},
		{"ALB latency (p95, seconds)", ofServices(m.responseTime, names)},
		{"ALB errors (5XX)", append([]metric{m.elb5xx}, ofServices(m.target5xx, names)...)},
		{"ALB healthy targets", ofServices(m.healthyHosts, names)},
		{"RDS connections", []metric{m.dbConnections}},
		{"RDS IOPS", []metric{m.dbReadIOPS, m.dbWriteIOPS}},
		{"RDS latency (seconds)", []metric{m.dbReadLatency, m.dbWriteLatency}},
		{"RDS CPU (%) and free storage", []metric{m.dbCPU, m.dbFreeStorage}},
		{"Redis evictions", m.redisEvictions},
		{"Redis connections", m.redisConnections},
		{"Redis CPU and memory (%)", append(append([]metric{}, m.redisCPU...), m.redisMemory...)},
	}
	if m.wafBlocked != nil {
		widgets = append(widgets, widget{"Firewall requests", []metric{*m.wafAllowed, *m.wafBlocked}})
	}
	return widgets
}

// ofServices are the metrics of the named services that have one, in order.
func ofServices(m map[string]metric, names []string) []metric {
	out := []metric{}
	for _, svc := range names {
		if metric, ok := m[svc]; ok {
			out = append(out, metric)
		}
	}
	return out
}

// service is a service by name, or nil.
func (a *AlarmsArgs) service(name string) *WatchedService {
	for i := range a.Services {
		if a.Services[i].Key == name {
			return &a.Services[i]
		}
	}
	return nil
}

// deployed are the services that run: those whose image tag is released.
func (a *AlarmsArgs) deployed() []WatchedService {
	var out []WatchedService
	for _, ref := range a.Services {
		if ref.Deployed {
			out = append(out, ref)
		}
	}
	return out
}

// dashboardBody renders the widgets, two to a row, once every dimension value is known.
func dashboardBody(region string, widgets []widget) pulumi.StringOutput {
	var values []any
	for _, w := range widgets {
		for _, m := range w.metrics {
			for _, d := range m.dimensions {
				values = append(values, d.value)
			}
		}
	}
	return pulumi.All(values...).ApplyT(func(resolved []any) (string, error) {
		i := 0
		var out []map[string]any
		for n, w := range widgets {
			var lines []any
			for _, m := range w.metrics {
				line := []any{m.namespace, m.name}
				for _, d := range m.dimensions {
					line = append(line, d.name, resolved[i].(string))
					i++
				}
				line = append(line, map[string]any{"stat": m.stat, "label": m.label, "period": m.period})
				lines = append(lines, line)
			}
			out = append(out, map[string]any{
				"type": "metric", "x": (n % 2) * 12, "y": (n / 2) * 6, "width": 12, "height": 6,
				"properties": map[string]any{"title": w.title, "region": region, "view": "timeSeries", "stacked": false, "metrics": lines},
			})
		}
		b, err := json.Marshal(map[string]any{"widgets": out})
		if err != nil {
			return "", fmt.Errorf("rendering dashboard: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
}
