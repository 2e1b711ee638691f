package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// expectedAlarm is an alarm as CloudWatch must see it: the metric, statistic and dimensions
// CloudWatch publishes, and the threshold of the seed.
type expectedAlarm struct {
	namespace, metric, statistic, comparison, missing string
	period                                            float64
	threshold                                         float64
	dimensions                                        map[string]any
}

func TestAlarmsWatchTheMetricsCloudWatchPublishes(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	alb := p.One(t, albType, "alb").Outputs["arnSuffix"]
	tg := func(svc string) any { return p.One(t, tgType, svc).Outputs["arnSuffix"] }
	cluster := p.Outputs["ecsClusterName"]
	// The DB instance's identifier, not its resource id, is the metric's dimension.
	dbID := p.One(t, dbType, "postgres").In("identifier")
	group := p.One(t, redisType, "redis").Outputs["replicationGroupId"].(string)

	want := map[string]expectedAlarm{
		"alb-5xx":         {"AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", "GreaterThanThreshold", "notBreaching", 300, 10, map[string]any{"LoadBalancer": alb}},
		"db-cpu":          {"AWS/RDS", "CPUUtilization", "Average", "GreaterThanThreshold", "missing", 300, 80, map[string]any{"DBInstanceIdentifier": dbID}},
		"db-free-storage": {"AWS/RDS", "FreeStorageSpace", "Minimum", "LessThanThreshold", "missing", 300, 10 * 1024 * 1024 * 1024, map[string]any{"DBInstanceIdentifier": dbID}},
		"db-connections":  {"AWS/RDS", "DatabaseConnections", "Maximum", "GreaterThanThreshold", "missing", 300, 80, map[string]any{"DBInstanceIdentifier": dbID}},
	}
	for _, svc := range []string{"backend", "frontend"} {
		targets := map[string]any{"LoadBalancer": alb, "TargetGroup": tg(svc)}
		service := map[string]any{"ClusterName": cluster, "ServiceName": p.Outputs[svc+"ServiceName"]}
		want[svc+"-unhealthy-targets"] = expectedAlarm{"AWS/ApplicationELB", "HealthyHostCount", "Minimum", "LessThanThreshold", "breaching", 60, 1, targets}
		want[svc+"-target-5xx"] = expectedAlarm{"AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", "GreaterThanThreshold", "notBreaching", 300, 10, targets}
		want[svc+"-response-time"] = expectedAlarm{"AWS/ApplicationELB", "TargetResponseTime", "p95", "GreaterThanThreshold", "notBreaching", 300, 2, targets}
		want[svc+"-cpu"] = expectedAlarm{"AWS/ECS", "CPUUtilization", "Average", "GreaterThanThreshold", "missing", 300, 90, service}
		want[svc+"-memory"] = expectedAlarm{"AWS/ECS", "MemoryUtilization", "Average", "GreaterThanThreshold", "missing", 300, 90, service}
	}
	for i := 1; i <= 2; i++ {
		// Per member cluster of the replication group, as ElastiCache publishes them.
		node := map[string]any{"CacheClusterId": fmt.Sprintf("%s-%03d", group, i), "CacheNodeId": "0001"}
		want[fmt.Sprintf("redis-%03d-cpu", i)] = expectedAlarm{"AWS/ElastiCache", "CPUUtilization", "Average", "GreaterThanThreshold", "missing", 300, 75, node}
		want[fmt.Sprintf("redis-%03d-memory", i)] = expectedAlarm{"AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Average", "GreaterThanThreshold", "missing", 300, 90, node}
	}
	assert.Contains(t, p.One(t, redisType, "redis").Outputs["memberClusters"], group+"-001", "the member names follow ElastiCache's")
	// The backend's redeploy after a secret change: its failures and time-outs, and the
	// events EventBridge could not deliver to it.
	machine := map[string]any{"StateMachineArn": p.One(t, "aws:sfn/stateMachine:StateMachine", "backend-redeploy").Outputs["arn"]}
	want["backend-redeploy-failed"] = expectedAlarm{"AWS/States", "ExecutionsFailed", "Sum", "GreaterThanOrEqualToThreshold", "notBreaching", 300, 1, machine}
	want["backend-redeploy-timed-out"] = expectedAlarm{"AWS/States", "ExecutionsTimedOut", "Sum", "GreaterThanOrEqualToThreshold", "notBreaching", 300, 1, machine}
	want["backend-secret-change-undelivered"] = expectedAlarm{"AWS/Events", "FailedInvocations", "Sum", "GreaterThanOrEqualToThreshold", "notBreaching", 300, 1,
		map[string]any{"RuleName": p.One(t, "aws:cloudwatch/eventRule:EventRule", "backend-secret-changed").Outputs["name"]}}

	topic := p.One(t, "aws:sns/topic:Topic", "alarms").Outputs["arn"]
	alarms := p.All(alarmType)
	assert.Len(t, alarms, len(want))
	for _, a := range alarms {
		w, ok := want[a.Name]
		if !assert.Truef(t, ok, "unexpected alarm %s", a.Name) {
			continue
		}
		assert.Equal(t, "coldchain-production-"+a.Name, a.In("name"))
		assert.Equal(t, w.namespace, a.In("namespace"), a.Name)
		assert.Equal(t, w.metric, a.In("metricName"), a.Name)
		if strings.HasPrefix(w.statistic, "p") {
			assert.Equal(t, w.statistic, a.In("extendedStatistic"), a.Name)
			assert.NotContains(t, a.Inputs, "statistic", a.Name)
		} else {
			assert.Equal(t, w.statistic, a.In("statistic"), a.Name)
		}
		assert.Equal(t, w.comparison, a.In("comparisonOperator"), a.Name)
		assert.Equal(t, w.threshold, a.Num("threshold"), a.Name)
		assert.Equal(t, w.period, a.Num("period"), a.Name)
		assert.Equal(t, w.missing, a.In("treatMissingData"), a.Name)
		assert.Equal(t, w.dimensions, a.Obj("dimensions"), a.Name)
		assert.GreaterOrEqual(t, a.Num("evaluationPeriods"), a.Num("datapointsToAlarm"), a.Name)
		assert.Equal(t, []any{topic}, a.List("alarmActions"), a.Name)
		assert.Equal(t, []any{topic}, a.List("okActions"), a.Name)
		assert.Greaterf(t, len(a.In("alarmDescription")), 60, "alarm %s does not say what to do", a.Name)
		assert.LessOrEqual(t, len(a.In("alarmDescription")), 1024, "CloudWatch's limit on descriptions")
		assert.True(t, a.DeleteBeforeReplace, a.Name)
	}
	// Five minutes of 5XX counted against the seed's "more than 10 in 5 minutes".
	assert.Equal(t, float64(1), p.One(t, alarmType, "alb-5xx").Num("evaluationPeriods"))
}

func TestAlarmThresholdsFollowConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "alarmDbCpuPercent=70", "alarmRedisMemoryPercent=80", "alarmResponseTimeP95Seconds=0.5"))
	assert.Equal(t, float64(70), p.One(t, alarmType, "db-cpu").Num("threshold"))
	assert.Equal(t, float64(80), p.One(t, alarmType, "redis-002-memory").Num("threshold"))
	assert.Equal(t, 0.5, p.One(t, alarmType, "backend-response-time").Num("threshold"))

	one := planOf(t, with(minimalConfig(), "redisNodes=1", "redisMultiAz=false", "redisAutomaticFailover=false"))
	var redis []string
	for _, a := range one.All(alarmType) {
		if strings.HasPrefix(a.Name, "redis-") {
			redis = append(redis, a.Name)
		}
	}
	assert.ElementsMatch(t, []string{"redis-001-cpu", "redis-001-memory"}, redis, "one alarm pair per cache node")

}

func TestAlarmTopicIsEncryptedWithAKeyCloudWatchCanUse(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	topic := p.One(t, "aws:sns/topic:Topic", "alarms")
	key := p.One(t, kmsKeyType, "alarms")
	assert.Equal(t, key.Outputs["arn"], topic.In("kmsMasterKeyId"), "a customer-managed key, not alias/aws/sns")
	assert.True(t, key.Flag("enableKeyRotation"))
	assert.True(t, key.Protect)

	var keyPolicy parsedPolicy
	key.Doc(t, "policy", &keyPolicy)
	var cloudwatch bool
	for _, s := range keyPolicy.Statement {
		if s.Principal != nil && fmt.Sprint(s.Principal) == fmt.Sprint(map[string]any{"Service": "cloudwatch.amazonaws.com"}) {
			cloudwatch = true
			assert.ElementsMatch(t, []string{"kms:Decrypt", "kms:GenerateDataKey*"}, strs(s.Action))
		}
	}
	assert.True(t, cloudwatch, "the key policy lets CloudWatch encrypt notifications")

	var topicPolicy parsedPolicy
	p.One(t, "aws:sns/topicPolicy:TopicPolicy", "alarms").Doc(t, "policy", &topicPolicy)
	require.Len(t, topicPolicy.Statement, 2)
	publish := bySid(t, topicPolicy, "AccountAlarmsPublish")
	assert.Equal(t, []string{"sns:Publish"}, strs(publish.Action))
	assert.Equal(t, []string{topic.Outputs["arn"].(string)}, strs(publish.Resource))
	assert.Equal(t, "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:*", publish.Condition["ArnLike"]["aws:SourceArn"])
	assert.Equal(t, "123456789012", publish.Condition["StringEquals"]["aws:SourceAccount"])

	sub := p.One(t, "aws:sns/topicSubscription:TopicSubscription", "alarms-email")
	assert.Equal(t, "email", sub.In("protocol"))
	assert.Equal(t, "ops@example.com", sub.In("endpoint"))
	assert.Equal(t, topic.Outputs["arn"], sub.In("topic"))
	assert.Equal(t, topic.Outputs["arn"], p.Outputs["alarmTopicArn"])
}

func TestDashboardShowsOnlyAlarmedOrSeedMetrics(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	dash := p.One(t, "aws:cloudwatch/dashboard:Dashboard", "dashboard")
	assert.Equal(t, "coldchain-production", dash.In("dashboardName"))
	assert.Equal(t, "coldchain-production", p.Outputs["dashboardName"])

	var body struct {
		Widgets []struct {
			Properties struct {
				Title   string
				Region  string
				Metrics [][]any
			}
		}
	}
	dash.Doc(t, "dashboardBody", &body)

	alarmed := map[string]bool{}
	for _, a := range p.All(alarmType) {
		alarmed[a.In("namespace")+" "+a.In("metricName")] = true
	}
	seed := map[string]bool{ // the seed's key metrics that no alarm watches
		"AWS/ApplicationELB RequestCount": true, "AWS/RDS ReadIOPS": true, "AWS/RDS WriteIOPS": true,
		"AWS/RDS ReadLatency": true, "AWS/RDS WriteLatency": true,
		"AWS/ElastiCache Evictions": true, "AWS/ElastiCache CurrConnections": true,
	}
	shown := map[string]bool{}
	for _, w := range body.Widgets {
		assert.Equal(t, "ap-northeast-2", w.Properties.Region)
		for _, line := range w.Properties.Metrics {
			key := line[0].(string) + " " + line[1].(string)
			assert.Truef(t, alarmed[key] || seed[key], "widget %q shows %s, which neither an alarm nor the seed names", w.Properties.Title, key)
			shown[key] = true
			for i := 2; i+1 < len(line)-1; i += 2 {
				assert.NotEmptyf(t, line[i+1], "widget %q: dimension %v has no value", w.Properties.Title, line[i])
			}
		}
	}
	for key := range seed {
		assert.Truef(t, shown[key], "the dashboard misses the seed's %s", key)
	}
	for _, key := range []string{"AWS/ECS CPUUtilization", "AWS/ECS MemoryUtilization", "AWS/RDS DatabaseConnections",
		"AWS/ApplicationELB TargetResponseTime", "AWS/ApplicationELB HTTPCode_Target_5XX_Count"} {
		assert.Truef(t, shown[key], "the dashboard misses %s", key)
	}
}

func TestAlarmsOnTargetsWaitForTheirServiceToRun(t *testing.T) {
	t.Parallel()
	// A target group has no healthy target until its service's first tasks pass their health
	// checks; an alarm created before that (missing data counts as breaching) would page
	// during every first release. The service itself waits for steady state.
	p := planOf(t, minimalConfig())
	for _, svc := range []string{"backend", "frontend"} {
		assert.Contains(t, p.One(t, alarmType, svc+"-unhealthy-targets").DependsOn, p.One(t, serviceType, svc).URN)
	}
	assert.Contains(t, p.One(t, alarmType, "alb-5xx").DependsOn, p.One(t, serviceType, "frontend").URN)
}
