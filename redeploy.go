package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sfn"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// This file keeps the backend's secrets current. ECS reads a container's secrets once, when
// the task starts; RDS rotates the master password every 7 days, and a team changes its own
// secrets when it must. Whenever a secret the backend reads gets a new current value, a rolling
// deployment replaces the backend's tasks, which read the new value as they start. During the
// rollout (a few minutes) the old tasks keep their open database connections; a new connection
// they open with the old password fails until they are replaced, and README says how an
// application can avoid even that.

// managedSecretName is the logical name of the secret the program declares for a service's
// variable: the backend's API_KEY is "backend-api-key".
func managedSecretName(service, variable string) string {
	return service + "-" + strings.ToLower(strings.ReplaceAll(variable, "_", "-"))
}

// secretKeeping is how the secrets the program declares are kept: named after the stack's
// prefix, encrypted with KeyArn, recoverable for RecoveryDays once deleted, replicated to the
// DR region when Copies is set, and protected.
type secretKeeping struct {
	Prefix       string
	KeyArn       pulumi.StringInput
	RecoveryDays int
	Copies       *RegionCopies
	Protect      bool
}

// newManagedSecrets declares a Secrets Manager secret, without a value, for each of a service's
// ManagedSecrets. The value is set out of band ("aws secretsmanager put-secret-value"), so it
// never passes through config, the program or the Pulumi state.
func newManagedSecrets(ctx *pulumi.Context, args secretKeeping, cfg ServiceConfig, parent pulumi.ResourceOption) (map[string]*secretsmanager.Secret, error) {
	out := map[string]*secretsmanager.Secret{}
	for _, variable := range cfg.ManagedSecrets {
		secret, err := secretsmanager.NewSecret(ctx, managedSecretName(cfg.Name, variable), &secretsmanager.SecretArgs{
			Description: pulumi.String(variable + " of the " + args.Prefix + " " + cfg.Name + ". Set its value with " +
				"aws secretsmanager put-secret-value; the " + cfg.Name + " is redeployed to read it."),
			KmsKeyId:             args.KeyArn,
			RecoveryWindowInDays: pulumi.Int(args.RecoveryDays),
			Replicas:             args.Copies.secretReplicas(),
		}, parent, pulumi.Protect(args.Protect))
		if err != nil {
			return nil, fmt.Errorf("declaring %s secret %s: %w", cfg.Name, variable, err)
		}
		out[variable] = secret
	}
	return out, nil
}

// watchedSecret is a Secrets Manager secret whose new values a service must read: its ARN, or
// its partial ARN (without the random suffix).
type watchedSecret struct {
	arn     pulumi.StringInput
	partial bool
}

// rolledService is the service a redeploy rolls, and where its alarms go.
type rolledService struct {
	Account       awsAccount
	Prefix        string
	AlarmTopicArn pulumi.StringInput
	// Key is the service's name in config; Name and Arn the ECS service's, in ClusterArn.
	Key        string
	Name       pulumi.StringOutput
	Arn        pulumi.StringOutput
	ClusterArn pulumi.StringInput
	// AlarmNames are its deployment alarms, whose rollback the redeploy suspends; Service is
	// the ECS service, which the redeploy's trigger waits for.
	AlarmNames pulumi.StringArray
	Service    pulumi.Resource
}

// A rolling deployment starts every new task before it stops an old one: the service never runs
// below its desired count, and twice it at most (the redeploy after a rotation sets the same).
const (
	deploymentMinimumHealthyPercent = 100
	deploymentMaximumPercent        = 200
)

// redeployOnSecretChange starts a rolling deployment of a service whenever one of the watched
// Secrets Manager secrets gets a new current value (Secrets Manager's "Secret Label Updated"
// event for AWSCURRENT, sent for RDS's managed rotation as for any other). An EventBridge rule
// starts a state machine that rolls the service with its deployment alarms' rollback suspended
// and restores it once the rollout is over (redeployDefinition says why); its failures, and
// events EventBridge could not deliver, page through the alarm topic. No code to maintain, and
// every run is kept in the state machine's history.
func redeployOnSecretChange(ctx *pulumi.Context, args rolledService, watched []watchedSecret, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	account, name := args.Account, args.Key
	machineRole, err := newServiceRole(ctx, account, name+"-redeploy", "Lets the state machine roll the "+name+" service when its secrets change",
		"states.amazonaws.com", account.arn("states", account.Region, "stateMachine:*"), []statement{
			{Sid: "RollTheService", Actions: []string{"ecs:UpdateService", "ecs:DescribeServices"}, Resources: []pulumi.StringInput{args.Arn}},
			// Its own running executions, to wait for an earlier one (its name is generated
			// after the role: the prefix of its logical name).
			{Sid: "WaitForEarlierRedeploys", Actions: []string{"states:ListExecutions"},
				Resources: []pulumi.StringInput{pulumi.String(account.arn("states", account.Region, "stateMachine:"+name+"-redeploy-*"))}},
		}, parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	definition := pulumi.All(args.ClusterArn, args.Name, args.AlarmNames.ToStringArrayOutput()).ApplyT(func(v []any) (string, error) {
		return redeployDefinition(account.Partition, name, v[0].(string), v[1].(string), v[2].([]string))
	}).(pulumi.StringOutput)
	machine, err := sfn.NewStateMachine(ctx, name+"-redeploy", &sfn.StateMachineArgs{
		Type:       pulumi.String("STANDARD"),
		RoleArn:    machineRole.role.Arn,
		Definition: definition,
	}, parent, pulumi.DependsOn(machineRole.after()))
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("creating %s redeploy state machine: %w", name, err)
	}

	// EventBridge matches a resource exactly, or by prefix: a partial ARN (no random suffix)
	// names every ARN that starts with it and "-".
	var resources []any
	for _, w := range watched {
		resources = append(resources, w.arn)
	}
	eventPattern := pulumi.All(resources...).ApplyT(func(v []any) (string, error) {
		var matchers []any
		for i, arn := range v {
			if watched[i].partial {
				matchers = append(matchers, map[string]string{"prefix": arn.(string) + "-"})
			} else {
				matchers = append(matchers, arn)
			}
		}
		b, err := json.Marshal(map[string]any{
			"source":      []string{"aws.secretsmanager"},
			"detail-type": []string{"Secret Label Updated"},
			"resources":   matchers,
			"detail":      map[string]any{"labelUpdated": []string{"AWSCURRENT"}},
		})
		return string(b), err
	}).(pulumi.StringOutput)
	rule, err := cloudwatch.NewEventRule(ctx, name+"-secret-changed", &cloudwatch.EventRuleArgs{
		Description:  pulumi.String("A secret the " + name + " service reads has a new value: roll the service"),
		EventPattern: eventPattern,
	}, parent, pulumi.DependsOn([]pulumi.Resource{args.Service}))
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("creating %s secret-change rule: %w", name, err)
	}
	eventsRole, err := newServiceRole(ctx, account, name+"-secret-changed", "Lets EventBridge start the "+name+" redeploy",
		"events.amazonaws.com", account.arn("events", account.Region, "rule/*"), []statement{
			{Sid: "StartTheRedeploy", Actions: []string{"states:StartExecution"}, Resources: []pulumi.StringInput{machine.Arn}},
		}, parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if _, err := cloudwatch.NewEventTarget(ctx, name+"-secret-changed", &cloudwatch.EventTargetArgs{
		Rule:    rule.Name,
		Arn:     machine.Arn,
		RoleArn: eventsRole.role.Arn,
		// EventBridge retries a start it could not make (a throttle, a permission being
		// created) for an hour; one it gives up on is a FailedInvocation, which pages below.
		RetryPolicy: &cloudwatch.EventTargetRetryPolicyArgs{
			MaximumEventAgeInSeconds: pulumi.Int(redeployEventMaxAgeSeconds), MaximumRetryAttempts: pulumi.Int(redeployEventRetries),
		},
	}, parent, pulumi.DependsOn(eventsRole.after())); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("creating %s secret-change target: %w", name, err)
	}
	_, err = createAlarms(ctx, args.Prefix, args.AlarmTopicArn, redeployAlarmSpecs(name, machine.Arn, rule.Name), parent)
	return machine.Arn, err
}

// EventBridge's retries of a redeploy it could not start.
const (
	redeployEventMaxAgeSeconds = 3600
	redeployEventRetries       = 10
)

// redeployTimeoutSeconds bounds a redeploy: the rollout, then the restore of the alarms'
// rollback. Past it the execution times out, which pages.
const redeployTimeoutSeconds = 3600

// redeployDefinition is the state machine that rolls a service after a secret changed.
//
// The rollout runs with the deployment alarms' rollback suspended. After RDS rotates the
// master password, the tasks still running hold the old one until they are replaced: a new
// connection they open fails, which may raise the 5XX alarm during the rollout. With rollback
// on, ECS would roll back to those very tasks, and the backend would keep failing logins with
// nothing left to replace them. The circuit breaker stays on (a task that cannot start still
// rolls back), and the alarms still alarm and page; only their rollback waits until the rollout
// is over, when the machine restores it (on a failed rollout too, and then fails, which pages).
func redeployDefinition(partition, name, cluster, service string, alarmNames []string) (string, error) {
	sdk := func(api string) string { return "arn:" + partition + ":states:::aws-sdk:ecs:" + api }
	deployment := func(alarmRollback bool) map[string]any {
		d := map[string]any{
			"MaximumPercent": deploymentMaximumPercent, "MinimumHealthyPercent": deploymentMinimumHealthyPercent,
			"DeploymentCircuitBreaker": map[string]any{"Enable": true, "Rollback": true},
		}
		// A worker has no deployment alarm: nothing to suspend or restore.
		if len(alarmNames) > 0 {
			d["Alarms"] = map[string]any{"AlarmNames": alarmNames, "Enable": alarmRollback, "Rollback": alarmRollback}
		}
		return d
	}
	retry := []map[string]any{{"ErrorEquals": []string{"States.ALL"}, "IntervalSeconds": 30, "MaxAttempts": 5, "BackoffRate": 2}}
	// A restore that fails for good ends the execution failed, which pages.
	restoreFailed := []map[string]any{{"ErrorEquals": []string{"States.ALL"}, "ResultPath": "$.error", "Next": "RestoreFailed"}}
	restore := func(next string) map[string]any {
		state := map[string]any{
			"Type": "Task", "Resource": sdk("updateService"), "Retry": retry, "Catch": restoreFailed, "ResultPath": nil,
			"Parameters": map[string]any{"Cluster": cluster, "Service": service, "DeploymentConfiguration": deployment(true)},
		}
		if next == "" {
			state["End"] = true
		} else {
			state["Next"] = next
		}
		return state
	}
	onError := []map[string]any{{"ErrorEquals": []string{"States.ALL"}, "ResultPath": "$.error", "Next": "RestoreAfterFailure"}}
	// The deployment this execution started, and the one ECS now calls primary: when they differ,
	// ECS rolled back (a new primary deployment of the old tasks) or someone else deployed.
	started, primary := "$.update.Service.Deployments[0].Id", "$.rollout.Services[0].Deployments[0].Id"
	state := "$.rollout.Services[0].Deployments[0].RolloutState"
	missing := func(path string) map[string]any {
		return map[string]any{"Variable": path, "IsPresent": false, "Next": "RestoreAfterFailure"}
	}
	b, err := json.Marshal(map[string]any{
		"Comment":        "Roll the " + name + " service so that its tasks read the secrets' new values",
		"StartAt":        "Start",
		"TimeoutSeconds": redeployTimeoutSeconds,
		"States": map[string]any{
			"Start": map[string]any{"Type": "Pass", "Parameters": map[string]any{"polls": 0, "waits": 0, "me.$": "$$.Execution.Id"},
				"ResultPath": "$.loop", "Next": "ListRunning"},
			// One redeploy at a time, oldest first: two at once would each restore the alarms'
			// rollback during the other's rollout. ECS lists the newest execution first.
			"ListRunning": map[string]any{
				"Type": "Task", "Resource": "arn:" + partition + ":states:::aws-sdk:sfn:listExecutions", "Retry": retry,
				"Parameters": map[string]any{"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING"},
				"ResultPath": "$.running", "Next": "AnyRunning",
			},
			"AnyRunning": map[string]any{
				"Type": "Choice",
				"Choices": []map[string]any{
					{"Variable": "$.running.Executions[0]", "IsPresent": false, "Next": "RollWithoutAlarmRollback"},
				},
				"Default": "Oldest",
			},
			"Oldest": map[string]any{"Type": "Pass",
				"Parameters": map[string]any{"arn.$": "States.ArrayGetItem($.running.Executions[*].ExecutionArn, States.MathAdd(States.ArrayLength($.running.Executions), -1))"},
				"ResultPath": "$.oldest", "Next": "MyTurn"},
			"MyTurn": map[string]any{
				"Type": "Choice",
				"Choices": []map[string]any{
					{"Variable": "$.oldest.arn", "StringEqualsPath": "$.loop.me", "Next": "RollWithoutAlarmRollback"},
					{"Variable": "$.loop.waits", "NumericGreaterThanEquals": redeployMaxPolls, "Next": "WaitedTooLong"},
				},
				"Default": "WaitForEarlier",
			},
			"WaitForEarlier": map[string]any{"Type": "Wait", "Seconds": redeployPollSeconds, "Next": "CountWait"},
			"CountWait": map[string]any{"Type": "Pass",
				"Parameters": map[string]any{"polls.$": "$.loop.polls", "waits.$": "States.MathAdd($.loop.waits, 1)", "me.$": "$.loop.me"},
				"ResultPath": "$.loop", "Next": "ListRunning"},
			"WaitedTooLong": map[string]any{"Type": "Fail", "Error": "EarlierRedeployTooLong",
				"Cause": "An earlier redeploy of the " + name + " service still runs: this one gave up without changing anything."},
			"RollWithoutAlarmRollback": map[string]any{
				"Type": "Task", "Resource": sdk("updateService"), "Retry": retry, "Catch": onError,
				"Parameters": map[string]any{"Cluster": cluster, "Service": service, "ForceNewDeployment": true,
					"DeploymentConfiguration": deployment(false)},
				"ResultPath": "$.update", "Next": "WaitForRollout",
			},
			"WaitForRollout": map[string]any{"Type": "Wait", "Seconds": redeployPollSeconds, "Next": "CountPoll"},
			"CountPoll": map[string]any{"Type": "Pass", "Parameters": map[string]any{"polls.$": "States.MathAdd($.loop.polls, 1)", "waits.$": "$.loop.waits", "me.$": "$.loop.me"},
				"ResultPath": "$.loop", "Next": "ReadRollout"},
			"ReadRollout": map[string]any{
				"Type": "Task", "Resource": sdk("describeServices"), "Retry": retry, "Catch": onError,
				"Parameters": map[string]any{"Cluster": cluster, "Services": []string{service}},
				"ResultPath": "$.rollout", "Next": "RolledOut",
			},
			// The newest deployment, PRIMARY, comes first in both answers. Every path is
			// checked before it is compared: a comparison of a missing one would end the
			// execution with an error no Catch takes, the rollback left off.
			"RolledOut": map[string]any{
				"Type": "Choice",
				"Choices": []map[string]any{
					missing(started), missing(primary), missing(state),
					{"Not": map[string]any{"Variable": primary, "StringEqualsPath": started}, "Next": "RestoreAfterFailure"},
					{"Variable": state, "StringEquals": "COMPLETED", "Next": "RestoreAlarmRollback"},
					{"Variable": state, "StringEquals": "FAILED", "Next": "RestoreAfterFailure"},
					{"Variable": "$.loop.polls", "NumericGreaterThanEquals": redeployMaxPolls, "Next": "RestoreAfterFailure"},
				},
				"Default": "WaitForRollout",
			},
			"RestoreAlarmRollback": restore(""),
			"RestoreAfterFailure":  restore("RolloutFailed"),
			"RolloutFailed": map[string]any{"Type": "Fail", "Error": "RolloutFailed",
				"Cause": "The " + name + " service's rollout after a secret change failed or was rolled back: its tasks may hold a stale secret."},
			"RestoreFailed": map[string]any{"Type": "Fail", "Error": "RestoreFailed",
				"Cause": "The " + name + " service's deployment alarms could not be given their rollback back: run the redeploy again."},
		},
	})
	return string(b), err
}

// The redeploy's polling of the rollout: every 30 seconds, at most 100 times (50 minutes, within
// the execution's hour), then it restores the rollback and fails.
const (
	redeployPollSeconds = 30
	redeployMaxPolls    = 100
)

// redeployAlarmSpecs page when a redeploy fails or times out, and when EventBridge could not
// start one: each leaves the service's tasks with a secret that may no longer work.
func redeployAlarmSpecs(name string, machineArn, ruleName pulumi.StringInput) []alarmSpec {
	machine := []dimension{{"StateMachineArn", machineArn}}
	what := "The " + name + " service's tasks may hold a secret that no longer works (after a rotation, the old database password). "
	// Again through the machine, not by a plain update-service: a rollout by hand would roll
	// back to the stale tasks as soon as their failed logins raise the 5XX alarm.
	roll := "Run the redeploy again: aws stepfunctions start-execution --state-machine-arn %s (docs/runbook.md, \"Secrets and their rotation\")."
	return []alarmSpec{
		{id: name + "-redeploy-failed", metric: metric{"redeploys failed", "AWS/States", "ExecutionsFailed", "Sum", 300, machine},
			comparison: "GreaterThanOrEqualToThreshold", threshold: 1, evaluationPeriods: 1, missing: "notBreaching",
			description: pulumi.Sprintf("The "+name+" redeploy after a secret change failed (its state machine's history says where). "+what+roll, machineArn)},
		{id: name + "-redeploy-timed-out", metric: metric{"redeploys timed out", "AWS/States", "ExecutionsTimedOut", "Sum", 300, machine},
			comparison: "GreaterThanOrEqualToThreshold", threshold: 1, evaluationPeriods: 1, missing: "notBreaching",
			description: pulumi.Sprintf("The "+name+" redeploy after a secret change did not finish within an hour. "+what+roll, machineArn)},
		{id: name + "-secret-change-undelivered", metric: metric{"redeploys not started", "AWS/Events", "FailedInvocations", "Sum", 300,
			[]dimension{{"RuleName", ruleName}}},
			comparison: "GreaterThanOrEqualToThreshold", threshold: 1, evaluationPeriods: 1, missing: "notBreaching",
			description: pulumi.Sprintf("EventBridge could not start the "+name+" redeploy after a secret change, for an hour. "+what+roll, machineArn)},
	}
}
