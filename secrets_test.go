package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEverySecretSourceFormIsReadableByTheExecutionRole(t *testing.T) {
	t.Parallel()
	env := awsAccount{AccountID: "123456789012", Partition: "aws", Region: "ap-northeast-2", DNSSuffix: "amazonaws.com"}
	const sm = "arn:aws:secretsmanager:ap-northeast-2:210987654321:secret:"
	for _, tc := range []struct {
		source, valueFrom string
		resources         []string
		secretsManager    bool
	}{
		{"/coldchain/production/api-key", "arn:aws:ssm:ap-northeast-2:123456789012:parameter/coldchain/production/api-key",
			[]string{"arn:aws:ssm:ap-northeast-2:123456789012:parameter/coldchain/production/api-key"}, false},
		{"arn:aws:ssm:ap-northeast-2:123456789012:parameter/partner/token", "arn:aws:ssm:ap-northeast-2:123456789012:parameter/partner/token",
			[]string{"arn:aws:ssm:ap-northeast-2:123456789012:parameter/partner/token"}, false},
		// A complete ARN: the secret itself (and the partial reading of its name, which no
		// other secret can match).
		{sm + "partner-AbCdEf", sm + "partner-AbCdEf", []string{sm + "partner-AbCdEf", sm + "partner-AbCdEf-??????"}, true},
		// A JSON key and a version select from the secret; IAM is asked for the secret.
		{sm + "partner-AbCdEf:api_key::", sm + "partner-AbCdEf:api_key::", []string{sm + "partner-AbCdEf", sm + "partner-AbCdEf-??????"}, true},
		{sm + "partner-AbCdEf::AWSPREVIOUS:", sm + "partner-AbCdEf::AWSPREVIOUS:", []string{sm + "partner-AbCdEf", sm + "partner-AbCdEf-??????"}, true},
		// A partial ARN (no suffix): its ARN is the name, "-" and six characters.
		{sm + "coldchain/partner", sm + "coldchain/partner", []string{sm + "coldchain/partner-??????"}, true},
		{sm + "coldchain/partner:token::", sm + "coldchain/partner:token::", []string{sm + "coldchain/partner-??????"}, true},
	} {
		got, err := parseSecretSource(tc.source, env)
		require.NoErrorf(t, err, "%s", tc.source)
		assert.Equalf(t, tc.valueFrom, got.valueFrom, "%s", tc.source)
		assert.Equalf(t, tc.resources, got.resources, "%s", tc.source)
		assert.Equalf(t, tc.secretsManager, got.secretsManager, "%s", tc.source)
	}
	for _, bad := range []string{
		"api-key",                 // a bare name: a plain value or a secret? refused
		"sk-live-123",             // a value
		sm + "partner-AbCdEf:key", // a selection without its three fields, which ECS rejects
		sm + "partner-AbCdEf:key:AWSCURRENT",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf", // another region
		"arn:aws:ssm:us-east-1:123456789012:parameter/x",
		"//double",
	} {
		_, err := parseSecretSource(bad, env)
		assert.Errorf(t, err, "%s is accepted", bad)
	}
}

func TestTheExecutionRoleReadsWhatTheContainerNames(t *testing.T) {
	t.Parallel()
	const sm = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:"
	p := planOf(t, with(minimalConfig(), `backendSecrets={"PARTNER":"`+sm+`coldchain/partner:token::"}`))
	var defs []containerDefinition
	p.One(t, taskDefType, "backend").Doc(t, "containerDefinitions", &defs)
	assert.Contains(t, defs[0].Secrets, nameValueFrom{"PARTNER", sm + "coldchain/partner:token::"})
	var policy parsedPolicy
	p.One(t, rolePolicy, "backend-execution").Doc(t, "policy", &policy)
	found := false
	for _, s := range policy.Statement {
		if s.Sid == "ReadSecrets" {
			found = true
			assert.Contains(t, strs(s.Resource), sm+"coldchain/partner-??????")
		}
	}
	assert.True(t, found)
}

func TestManagedSecretsAreDeclaredWithoutAValue(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), `backendManagedSecrets=["API_KEY","PARTNER_TOKEN"]`))
	key := p.One(t, kmsKeyType, "data")
	arns := map[string]any{}
	for variable, name := range map[string]string{"API_KEY": "backend-api-key", "PARTNER_TOKEN": "backend-partner-token"} {
		secret := p.One(t, secretType, name)
		assert.Equal(t, key.Outputs["arn"], secret.In("kmsKeyId"))
		assert.True(t, secret.Protect)
		assert.Equal(t, float64(30), secret.Num("recoveryWindowInDays"))
		assert.Contains(t, secret.In("description"), "aws secretsmanager put-secret-value")
		arns[variable] = secret.Outputs["arn"]
	}
	// No value: the program never sees it, so neither does the state.
	for _, v := range p.All("aws:secretsmanager/secretVersion:SecretVersion") {
		assert.Equal(t, "redis-auth", v.Name, "only the generated Redis token has a version")
	}
	assert.Equal(t, arns, p.Outputs["backendSecretArns"])

	var defs []containerDefinition
	p.One(t, taskDefType, "backend").Doc(t, "containerDefinitions", &defs)
	assert.Contains(t, defs[0].Secrets, nameValueFrom{"API_KEY", arns["API_KEY"].(string)})

}

func TestARotatedPasswordRollsTheBackend(t *testing.T) {
	t.Parallel()
	// RDS rotates the master password every 7 days; ECS reads secrets when a task starts. A
	// new current value of any secret the backend reads starts a rolling deployment.
	const team = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:"
	p := planOf(t, with(minimalConfig(), `backendManagedSecrets=["API_KEY"]`,
		`backendSecrets={"PARTNER":"`+team+`partner-AbCdEf:token::","OTHER":"`+team+`coldchain/other","PARAM":"/coldchain/param"}`))
	rule := p.One(t, "aws:cloudwatch/eventRule:EventRule", "backend-secret-changed")
	var pattern struct {
		Source     []string `json:"source"`
		DetailType []string `json:"detail-type"`
		Resources  []any    `json:"resources"`
		Detail     struct {
			LabelUpdated []string `json:"labelUpdated"`
		} `json:"detail"`
	}
	rule.Doc(t, "eventPattern", &pattern)
	assert.Equal(t, []string{"aws.secretsmanager"}, pattern.Source)
	assert.Equal(t, []string{"Secret Label Updated"}, pattern.DetailType)
	assert.Equal(t, []string{"AWSCURRENT"}, pattern.Detail.LabelUpdated)
	assert.ElementsMatch(t, []any{
		p.Outputs["databaseSecretArn"],
		p.One(t, secretType, "backend-api-key").Outputs["arn"],
		team + "partner-AbCdEf",
		map[string]any{"prefix": team + "coldchain/other-"}, // a partial ARN matches by prefix
	}, pattern.Resources, "the RDS password, the declared secrets and the team's Secrets Manager secrets")

	machine := p.One(t, "aws:sfn/stateMachine:StateMachine", "backend-redeploy")
	target := p.One(t, "aws:cloudwatch/eventTarget:EventTarget", "backend-secret-changed")
	assert.Equal(t, machine.Outputs["arn"], target.In("arn"))
	assert.Equal(t, rule.Outputs["name"], target.In("rule"))

	// The rollout after a rotation cannot roll back to the tasks that hold the old password:
	// it runs with the deployment alarms' rollback suspended, which every outcome restores.
	var definition stateMachine
	machine.Doc(t, "definition", &definition)
	assert.Equal(t, float64(3600), definition.TimeoutSeconds, "a redeploy that hangs times out, which pages")
	cluster := p.One(t, "aws:ecs/cluster:Cluster", "cluster").Outputs["arn"]
	deploymentAlarms := p.One(t, serviceType, "backend").Obj("alarms")["alarmNames"]
	require.Len(t, deploymentAlarms, 2)
	for _, outcome := range []struct {
		name     string
		rollouts []rollout
		end      string
	}{
		{"a rollout that completes", []rollout{{"d-new", "IN_PROGRESS"}, {"d-new", "IN_PROGRESS"}, {"d-new", "COMPLETED"}}, "Succeed"},
		{"a rollout that fails", []rollout{{"d-new", "FAILED"}}, "Fail"},
		// The circuit breaker's rollback is a new primary deployment of the old tasks, which
		// completes: the machine must not take it for its own.
		{"a rollout rolled back", []rollout{{"d-new", "IN_PROGRESS"}, {"d-rollback", "COMPLETED"}}, "Fail"},
		{"an answer without a rollout state", []rollout{{"d-new", ""}}, "Fail"},
		{"a rollout that never ends", slices.Repeat([]rollout{{"d-new", "IN_PROGRESS"}}, 200), "Fail"},
	} {
		all, end := definition.run(t, "d-new", outcome.rollouts, [][]string{{execution}})
		assert.Equal(t, outcome.end, end, outcome.name)
		calls := ecsCalls(all)
		require.GreaterOrEqual(t, len(calls), 3, outcome.name)
		first, last := calls[0], calls[len(calls)-1]
		assert.Equal(t, "arn:aws:states:::aws-sdk:ecs:updateService", first.Resource)
		assert.Equal(t, cluster, first.Parameters["Cluster"])
		assert.Equal(t, "coldchain-production-backend", first.Parameters["Service"])
		assert.Equal(t, true, first.Parameters["ForceNewDeployment"])
		assert.Equal(t, map[string]any{"AlarmNames": deploymentAlarms, "Enable": false, "Rollback": false},
			first.Parameters["DeploymentConfiguration"].(map[string]any)["Alarms"], "the rollout cannot roll back to stale tasks")
		assert.Equal(t, map[string]any{"Enable": true, "Rollback": true},
			first.Parameters["DeploymentConfiguration"].(map[string]any)["DeploymentCircuitBreaker"], "a task that cannot start still rolls back")
		assert.Equalf(t, "arn:aws:states:::aws-sdk:ecs:updateService", last.Resource, "%s: the rollback is restored", outcome.name)
		assert.NotContains(t, last.Parameters, "ForceNewDeployment")
		assert.Equal(t, map[string]any{"AlarmNames": deploymentAlarms, "Enable": true, "Rollback": true},
			last.Parameters["DeploymentConfiguration"].(map[string]any)["Alarms"], "the service's own deployment alarms, restored")
		for _, c := range calls[1 : len(calls)-1] {
			assert.Equal(t, "arn:aws:states:::aws-sdk:ecs:describeServices", c.Resource)
		}
	}

	// Two redeploys at once: the later waits until the earlier is over, then rolls.
	all, end := definition.run(t, "d-new", []rollout{{"d-new", "COMPLETED"}},
		[][]string{{execution, "arn:aws:states:ap-northeast-2:123456789012:execution:backend-redeploy:earlier"}, {execution}})
	assert.Equal(t, "Succeed", end)
	require.GreaterOrEqual(t, len(all), 3)
	assert.Equal(t, "arn:aws:states:::aws-sdk:sfn:listExecutions", all[0].Resource)
	assert.Equal(t, "arn:aws:states:::aws-sdk:sfn:listExecutions", all[1].Resource, "it asked again after waiting")
	assert.Equal(t, "arn:aws:states:::aws-sdk:ecs:updateService", all[2].Resource, "and rolled only then")
	// One that waits forever gives up without touching the service.
	all, end = definition.run(t, "d-new", nil, slices.Repeat([][]string{{execution, "arn:aws:states:ap-northeast-2:123456789012:execution:backend-redeploy:earlier"}}, 200))
	assert.Equal(t, "Fail", end)
	assert.Empty(t, ecsCalls(all), "nothing changed")

	// Each role may do exactly its one step.
	var machinePolicy, eventsPolicy parsedPolicy
	p.One(t, rolePolicy, "backend-redeploy").Doc(t, "policy", &machinePolicy)
	p.One(t, rolePolicy, "backend-secret-changed").Doc(t, "policy", &eventsPolicy)
	assert.Equal(t, []string{"ecs:UpdateService", "ecs:DescribeServices"}, strs(bySid(t, machinePolicy, "RollTheService").Action))
	assert.Equal(t, []string{"states:ListExecutions"}, strs(bySid(t, machinePolicy, "WaitForEarlierRedeploys").Action))
	assert.Equal(t, []string{"arn:aws:states:ap-northeast-2:123456789012:stateMachine:backend-redeploy-*"},
		strs(bySid(t, machinePolicy, "WaitForEarlierRedeploys").Resource), "its own executions")
	assert.Regexp(t, `^arn:aws:states:ap-northeast-2:123456789012:stateMachine:backend-redeploy-`, machine.Outputs["arn"], "the name the resource above matches")
	assert.Equal(t, []string{p.One(t, serviceType, "backend").ID}, strs(bySid(t, machinePolicy, "RollTheService").Resource))
	assert.Equal(t, []string{"states:StartExecution"}, strs(bySid(t, eventsPolicy, "StartTheRedeploy").Action))
	assert.Equal(t, []string{machine.Outputs["arn"].(string)}, strs(bySid(t, eventsPolicy, "StartTheRedeploy").Resource))
}

// stateMachine is an Amazon States Language definition, as much of it as the redeploy uses.
type stateMachine struct {
	StartAt        string
	TimeoutSeconds float64
	States         map[string]machineState
}

type machineState struct {
	Type       string
	Resource   string
	Parameters map[string]any
	Result     any
	ResultPath *string
	Next       string
	End        bool
	Catch      []struct{ Next string }
	Choices    []choiceRule
	Default    string
}

type choiceRule struct {
	Not                      *choiceRule
	Variable                 string
	StringEquals             *string
	StringEqualsPath         string
	IsPresent                *bool
	NumericGreaterThanEquals *float64
	Next                     string
}

// rollout is what ECS answers of the primary deployment: its id and state ("" for none).
type rollout struct{ id, state string }

// call is a task the machine ran.
type call struct {
	Resource   string
	Parameters map[string]any
}

// execution is the ARN of the execution the test runs; Step Functions lists the newest first.
const execution = "arn:aws:states:ap-northeast-2:123456789012:execution:backend-redeploy:me"

// ecsCalls are the calls to ECS, leaving out the machine's look at its own executions.
func ecsCalls(calls []call) []call {
	var out []call
	for _, c := range calls {
		if strings.Contains(c.Resource, ":ecs:") {
			out = append(out, c)
		}
	}
	return out
}

// passParameters evaluates a Pass state's parameters: literals, paths, the context's execution
// ARN, and the intrinsic functions the machine uses.
func passParameters(t *testing.T, data map[string]any, params map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range params {
		key, isPath := strings.CutSuffix(k, ".$")
		if !isPath {
			out[k] = v
			continue
		}
		expr := v.(string)
		switch {
		case expr == "$$.Execution.Id":
			out[key] = execution
		case strings.HasPrefix(expr, "States.MathAdd(") && strings.HasSuffix(expr, ", 1)"):
			n := lookup(data, strings.TrimSuffix(strings.TrimPrefix(expr, "States.MathAdd("), ", 1)"))
			require.NotNilf(t, n, "%s adds to nothing", expr)
			out[key] = n.(float64) + 1
		case expr == "States.ArrayGetItem($.running.Executions[*].ExecutionArn, States.MathAdd(States.ArrayLength($.running.Executions), -1))":
			executions := lookup(data, "$.running.Executions").([]any)
			out[key] = executions[len(executions)-1].(map[string]any)["ExecutionArn"]
		case strings.HasPrefix(expr, "$."):
			out[key] = lookup(data, expr)
		default:
			t.Fatalf("an expression the test does not know: %s", expr)
		}
	}
	return out
}

// run walks the machine as Step Functions would: UpdateService answers that it started the
// deployment started, each DescribeServices the next rollout given. It returns the tasks
// called and how the execution ends (Succeed or Fail). A state the machine names but lacks,
// a path it compares without checking it is there, or a walk that does not end, fails the test.
func (m stateMachine) run(t *testing.T, started string, rollouts []rollout, running [][]string) (calls []call, end string) {
	t.Helper()
	data := map[string]any{}
	for name, steps := m.StartAt, 0; steps < 2000; steps++ {
		st, ok := m.States[name]
		require.Truef(t, ok, "the machine names a state %q it does not have", name)
		var result any
		switch st.Type {
		case "Pass":
			result = st.Result
			if st.Parameters != nil {
				result = passParameters(t, data, st.Parameters)
			}
		case "Task":
			calls = append(calls, call{st.Resource, st.Parameters})
			switch {
			case strings.HasSuffix(st.Resource, ":listExecutions"):
				require.NotEmpty(t, running, "the machine lists its executions more often than the test answers")
				var executions []any
				for _, arn := range running[0] {
					executions = append(executions, map[string]any{"ExecutionArn": arn})
				}
				running = running[1:]
				result = map[string]any{"Executions": executions}
			case strings.HasSuffix(st.Resource, ":describeServices"):
				require.NotEmpty(t, rollouts, "the machine reads the rollout more often than the test answers")
				r := rollouts[0]
				rollouts = rollouts[1:]
				deployment := map[string]any{"Id": r.id}
				if r.state != "" {
					deployment["RolloutState"] = r.state
				}
				result = map[string]any{"Services": []any{map[string]any{"Deployments": []any{deployment}}}}
			case st.Parameters["ForceNewDeployment"] == true:
				result = map[string]any{"Service": map[string]any{"Deployments": []any{map[string]any{"Id": started}}}}
			}
		case "Wait":
		case "Choice":
			name = st.Default
			for _, c := range st.Choices {
				if c.holds(t, data) {
					name = c.Next
					break
				}
			}
			continue
		case "Fail":
			return calls, "Fail"
		case "Succeed":
			return calls, "Succeed"
		}
		if st.ResultPath != nil && result != nil {
			data[strings.TrimPrefix(*st.ResultPath, "$.")] = result
		}
		if st.End {
			return calls, "Succeed"
		}
		name = st.Next
	}
	t.Fatal("the machine does not end")
	return nil, ""
}

// holds evaluates a choice rule; comparing a path that is not there fails the test, as it
// fails the execution with an error no Catch takes.
func (c choiceRule) holds(t *testing.T, data map[string]any) bool {
	t.Helper()
	if c.Not != nil {
		return !c.Not.holds(t, data)
	}
	v := lookup(data, c.Variable)
	switch {
	case c.IsPresent != nil:
		return (v != nil) == *c.IsPresent
	case v == nil:
		t.Fatalf("the machine compares %s, which is not there", c.Variable)
	case c.StringEquals != nil:
		return v == *c.StringEquals
	case c.StringEqualsPath != "":
		other := lookup(data, c.StringEqualsPath)
		require.NotNilf(t, other, "the machine compares with %s, which is not there", c.StringEqualsPath)
		return v == other
	case c.NumericGreaterThanEquals != nil:
		return v.(float64) >= *c.NumericGreaterThanEquals
	}
	t.Fatalf("a choice rule the test does not know: %+v", c)
	return false
}

// lookup reads a JSONPath of the form $.a.b[0].c; nil where there is nothing.
func lookup(data map[string]any, path string) any {
	var v any = data
	for _, part := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		name, index, indexed := strings.Cut(strings.TrimSuffix(part, "]"), "[")
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[name]
		if indexed {
			l, ok := v.([]any)
			if !ok || index != "0" || len(l) == 0 {
				return nil
			}
			v = l[0]
		}
	}
	return v
}
