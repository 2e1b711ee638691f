package main

import (
	"coldchain/internal/offline"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withWorker declares a released worker that reaches the data tier and consumes a queue: what a
// dispatch system's background jobs look like.
var withWorker = []string{`workers=["dispatcher"]`, "dispatcherImageTag=" + releaseTag, "dispatcherDataTier=true",
	"dispatcherQueueName=coldchain-production-dispatch"}

func TestAWorkerRunsWithoutTheLoadBalancer(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production", withWorker...)

	assert.Nil(t, p.Find(tgType, "dispatcher"), "no target group")
	assert.Nil(t, p.Find(ruleType, "dispatcher"), "no routing rule")
	svc := p.One(t, serviceType, "dispatcher")
	assert.Empty(t, svc.List("loadBalancers"))
	assert.NotContains(t, svc.Inputs, "healthCheckGracePeriodSeconds", "ECS takes a grace period only with a load balancer")
	assert.NotContains(t, svc.Inputs, "alarms", "no deployment alarm: no request metrics")
	assert.Equal(t, map[string]any{"enable": true, "rollback": true}, svc.Obj("deploymentCircuitBreaker"), "the circuit breaker judges its deployments")
	assert.Equal(t, []any{p.One(t, sgType, "dispatcher-sg").ID}, svc.Obj("networkConfiguration")["securityGroups"])

	var defs []map[string]any
	p.One(t, taskDefType, "dispatcher").Doc(t, "containerDefinitions", &defs)
	require.Len(t, defs, 1)
	assert.Empty(t, defs[0]["portMappings"], "a worker publishes no port")
	assert.Equal(t, true, defs[0]["readonlyRootFilesystem"])

	// Its security group takes nothing in; it reaches PostgreSQL and Redis, which take it in.
	group := p.One(t, sgType, "dispatcher-sg").ID
	for _, rule := range p.All(ingressType) {
		assert.NotEqualf(t, group, rule.Inputs["securityGroupId"], "ingress %s into the worker", rule.Name)
	}
	assert.Equal(t, 5432.0, p.One(t, ingressType, "database-from-dispatcher").Num("fromPort"))
	assert.Equal(t, group, p.One(t, ingressType, "database-from-dispatcher").Inputs["referencedSecurityGroupId"])
	assert.Equal(t, 6379.0, p.One(t, ingressType, "redis-from-dispatcher").Num("fromPort"))
	assert.Nil(t, p.Find(egressType, "alb-to-dispatcher"))

	// Its database password's rotation rolls it too, with no deployment alarm to suspend.
	machine := p.One(t, "aws:sfn/stateMachine:StateMachine", "dispatcher-redeploy").In("definition")
	assert.Contains(t, machine, `"DeploymentCircuitBreaker"`)
	assert.NotContains(t, machine, `"Alarms"`)
	assert.Contains(t, p.One(t, "aws:sfn/stateMachine:StateMachine", "backend-redeploy").In("definition"), `"Alarms"`)

	// The program's services keep their rules' priorities: a worker takes none.
	assert.Equal(t, 100.0, p.One(t, ruleType, "backend").Num("priority"))
}

func TestAWorkerScalesOnItsQueuesBacklogPerTask(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production", withWorker...)
	assert.NotNil(t, p.Find(scalingPolicyType, "dispatcher-cpu"))
	assert.NotNil(t, p.Find(scalingPolicyType, "dispatcher-memory"))
	assert.Nil(t, p.Find(scalingPolicyType, "dispatcher-requests"), "no load balancer requests to count")

	queue := p.One(t, scalingPolicyType, "dispatcher-queue").Obj("targetTrackingScalingPolicyConfiguration")
	assert.Equal(t, 100.0, queue["targetValue"])
	metrics := queue["customizedMetricSpecification"].(map[string]any)["metrics"].([]any)
	require.Len(t, metrics, 3)
	visible, tasks, backlog := metrics[0].(map[string]any), metrics[1].(map[string]any), metrics[2].(map[string]any)
	// The dimensions CloudWatch publishes these metrics under (SQS: QueueName; Container
	// Insights: ClusterName and ServiceName), and the expression over their ids.
	assert.Equal(t, map[string]any{"namespace": "AWS/SQS", "metricName": "ApproximateNumberOfMessagesVisible",
		"dimensions": []any{map[string]any{"name": "QueueName", "value": "coldchain-production-dispatch"}}},
		visible["metricStat"].(map[string]any)["metric"])
	taskMetric := tasks["metricStat"].(map[string]any)["metric"].(map[string]any)
	assert.Equal(t, "ECS/ContainerInsights", taskMetric["namespace"])
	assert.Equal(t, "RunningTaskCount", taskMetric["metricName"])
	assert.Equal(t, []any{
		map[string]any{"name": "ClusterName", "value": p.One(t, "aws:ecs/cluster:Cluster", "cluster").Outputs["name"]},
		map[string]any{"name": "ServiceName", "value": p.One(t, serviceType, "dispatcher").Outputs["name"]},
	}, taskMetric["dimensions"])
	assert.Equal(t, "visible / tasks", backlog["expression"])
	assert.Equal(t, true, backlog["returnData"])
	assert.Equal(t, false, visible["returnData"])
	assert.Equal(t, false, tasks["returnData"])

	// It may consume exactly that queue.
	consume := bySid(t, policyOf(t, p, "dispatcher-task"), "ConsumeQueue")
	assert.Equal(t, []string{"arn:aws:sqs:ap-northeast-2:" + offline.FakeAccountID + ":coldchain-production-dispatch"}, strs(consume.Resource))
	assert.ElementsMatch(t, []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
		"sqs:GetQueueUrl"}, strs(consume.Action))

	// And finds it without a lookup: SQS's queue URL, as the container's QUEUE_URL.
	var defs []struct{ Environment []map[string]string }
	p.One(t, taskDefType, "dispatcher").Doc(t, "containerDefinitions", &defs)
	require.Len(t, defs, 1)
	assert.Contains(t, defs[0].Environment, map[string]string{"name": "QUEUE_URL",
		"value": "https://sqs.ap-northeast-2.amazonaws.com/" + offline.FakeAccountID + "/coldchain-production-dispatch"})
}

func TestAWorkerIsWatchedOnCPUAndMemoryNotOnTargets(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production", withWorker...)
	for _, id := range []string{"dispatcher-cpu", "dispatcher-memory"} {
		assert.NotNilf(t, p.Find(alarmType, id), "alarm %s", id)
	}
	// Its queue pages when the oldest message waits too long: the metric SQS publishes per queue.
	age := p.One(t, alarmType, "dispatcher-queue-age")
	assert.Equal(t, "AWS/SQS", age.In("namespace"))
	assert.Equal(t, "ApproximateAgeOfOldestMessage", age.In("metricName"))
	assert.Equal(t, "Maximum", age.In("statistic"))
	assert.Equal(t, map[string]any{"QueueName": "coldchain-production-dispatch"}, age.Obj("dimensions"))
	assert.Equal(t, 900.0, age.Num("threshold"))
	assert.Equal(t, "GreaterThanThreshold", age.In("comparisonOperator"))
	assert.NotEmpty(t, age.List("alarmActions"))
	assert.Nil(t, planOfFile(t, "production", `workers=["dispatcher"]`, "dispatcherImageTag="+releaseTag).Find(alarmType, "dispatcher-queue-age"),
		"no queue, no queue alarm")
	for _, id := range []string{"dispatcher-unhealthy-targets", "dispatcher-target-5xx", "dispatcher-response-time"} {
		assert.Nilf(t, p.Find(alarmType, id), "alarm %s: a worker has no target group", id)
	}
	body := p.One(t, "aws:cloudwatch/dashboard:Dashboard", "dashboard").In("dashboardBody")
	assert.True(t, json.Valid([]byte(body)))
	assert.Contains(t, body, "dispatcher CPU")
}

// TestNoWorkerKeyIsAProgramKey: a worker's keys are its name and a suffix (dispatcherCpu); no
// name a worker may take may make one of them a key the program reads itself, or the two would
// read the same value.
func TestNoWorkerKeyIsAProgramKey(t *testing.T) {
	t.Parallel()
	_, r := readConfig(project, "production", with(map[string]string{}, `workers=["zz"]`))
	var suffixes []string
	for key := range r.known {
		if short := r.shortKey(key); strings.HasPrefix(short, "zz") {
			suffixes = append(suffixes, strings.TrimPrefix(short, "zz"))
		}
	}
	require.Contains(t, suffixes, "Cpu")
	require.Contains(t, suffixes, "QueueName")
	program, err := loadConfig(project, "production", minimalConfig())
	require.NoError(t, err)
	for _, key := range configKeys(project) {
		for _, suffix := range suffixes {
			name, ok := strings.CutSuffix(key, suffix)
			if !ok || !workerNamePattern.MatchString(name) {
				continue
			}
			if svc := program.Service(name); svc != nil && !svc.Worker {
				continue // the program's own service: refused as a worker's name
			}
			t.Errorf("a worker named %q would read the program's key %s", name, key)
		}
	}
}

// TestNoWorkerNameCollidesWithTheProgramsOwn: a worker's names are its own name and a suffix
// (its log group "<name>", its security group "<name>-sg", its alarms "<name>-cpu", its outputs
// "<name>ServiceName"). Every word of the program's own logical names, taken as a worker's name,
// either plans with every program resource and output as it was, or is refused by config.
func TestNoWorkerNameCollidesWithTheProgramsOwn(t *testing.T) {
	t.Parallel()
	base := planOfFile(t, "production", "domainName=dispatch.example.com")
	words := map[string]bool{}
	for _, r := range base.Resources {
		for _, word := range strings.Split(r.Name, "-") {
			if workerNamePattern.MatchString(word) {
				words[word] = true
			}
		}
	}
	for output := range base.Outputs {
		// An output's first word: "redis" of redisSecurityGroupId.
		word := output[:strings.IndexFunc(output+"X", unicode.IsUpper)]
		if workerNamePattern.MatchString(word) {
			words[word] = true
		}
	}
	require.Greater(t, len(words), 40)
	// Each word alone, as config takes or refuses it; those it takes, planned ten at a time
	// (a stack's most workers): a collision fails the plan of its ten, which names them.
	var taken []string
	for _, name := range slices.Sorted(maps.Keys(words)) {
		if _, err := loadConfig(project, "production", with(mustLoadStack(t, "production"), workerSets(name)...)); err == nil {
			taken = append(taken, name)
		}
	}
	for batch := range slices.Chunk(taken, maxWorkers) {
		sets := []string{"domainName=dispatch.example.com", `workers=["` + strings.Join(batch, `","`) + `"]`}
		for _, name := range batch {
			sets = append(sets, workerSets(name)[1:]...)
		}
		raw := with(mustLoadStack(t, "production"), append(released(), sets...)...)
		p, err := func() (p *offline.Plan, err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return planStack(project, "production", raw)
		}()
		if !assert.NoErrorf(t, err, "workers named %v", batch) {
			continue
		}
		for _, name := range batch {
			// Its own outputs are its own.
			assert.Equalf(t, p.One(t, sgType, name+"-sg").ID, p.Outputs[name+"SecurityGroupId"], "a worker named %q: its security group output", name)
			assert.Equalf(t, "/ecs/coldchain-production/"+name, p.Outputs["logGroups"].(map[string]any)[name], "a worker named %q: its log group output", name)
		}
		for output, value := range base.Outputs {
			if output != "logGroups" { // which gains the workers'
				assert.Equalf(t, value, p.Outputs[output], "workers named %v change the output %s", batch, output)
			}
		}
		for _, r := range base.Resources {
			assert.NotNilf(t, p.ByURN(r.URN), "workers named %v: %s is gone", batch, r.URN)
		}
	}
	require.Greater(t, len(taken), 30, "the words config takes as workers' names")
}

// workerSets declare a released worker of a name that reaches the data tier, consumes a queue
// and keeps a secret: every name it has.
func workerSets(name string) []string {
	return []string{`workers=["` + name + `"]`, name + "ImageTag=" + releaseTag, name + "DataTier=true", name + "QueueName=orders",
		name + `ManagedSecrets=["TOKEN"]`}
}
