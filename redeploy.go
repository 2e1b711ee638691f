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
// they open with the old password fails, so the rotation happens in the weekly maintenance
// window RDS chooses, and README says how an application can avoid even that.

// managedSecretName is the logical name of the secret the program declares for a service's
// variable: the backend's API_KEY is "backend-api-key".
func managedSecretName(service, variable string) string {
	return service + "-" + strings.ToLower(strings.ReplaceAll(variable, "_", "-"))
}

// newManagedSecrets declares a Secrets Manager secret, without a value, for each of a service's
// ManagedSecrets. The value is set out of band ("aws secretsmanager put-secret-value"), so it
// never passes through config, the program or the Pulumi state.
func newManagedSecrets(ctx *pulumi.Context, args *ServicesArgs, cfg ServiceConfig, parent pulumi.ResourceOption) (map[string]*secretsmanager.Secret, error) {
	out := map[string]*secretsmanager.Secret{}
	for _, variable := range cfg.ManagedSecrets {
		secret, err := secretsmanager.NewSecret(ctx, managedSecretName(cfg.Name, variable), &secretsmanager.SecretArgs{
			Description: pulumi.String(variable + " of the " + args.Prefix + " " + cfg.Name + ". Set its value with " +
				"aws secretsmanager put-secret-value; the " + cfg.Name + " is redeployed to read it."),
			KmsKeyId:             args.KeyArn,
			RecoveryWindowInDays: pulumi.Int(args.SecretRecoveryDays),
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

// redeployOnSecretChange starts a rolling deployment of a service whenever one of the watched
// Secrets Manager secrets gets a new current value (Secrets Manager's "Secret Label Updated"
// event for AWSCURRENT, sent for RDS's managed rotation as for any other). An EventBridge rule
// starts a one-step state machine that calls ECS UpdateService with forceNewDeployment: no
// code to maintain, and every run is kept in the state machine's history.
func redeployOnSecretChange(ctx *pulumi.Context, account awsAccount, name string, watched []watchedSecret,
	clusterArn, serviceName, serviceArn pulumi.StringInput, parent pulumi.ResourceOption, after []pulumi.Resource) error {
	machineRole, err := newServiceRole(ctx, account, name+"-redeploy", "Lets the state machine roll the "+name+" service when its secrets change",
		"states.amazonaws.com", account.arn("states", account.Region, "stateMachine:*"), []statement{
			{Sid: "RollTheService", Actions: []string{"ecs:UpdateService"}, Resources: []pulumi.StringInput{serviceArn}},
		}, parent)
	if err != nil {
		return err
	}
	definition := pulumi.All(clusterArn, serviceName).ApplyT(func(v []any) (string, error) {
		b, err := json.Marshal(map[string]any{
			"Comment": "Roll the " + name + " service so that its tasks read the secrets' new values",
			"StartAt": "ForceNewDeployment",
			"States": map[string]any{"ForceNewDeployment": map[string]any{
				"Type":       "Task",
				"Resource":   "arn:" + account.Partition + ":states:::aws-sdk:ecs:updateService",
				"Parameters": map[string]any{"Cluster": v[0], "Service": v[1], "ForceNewDeployment": true},
				// A deployment in progress is no reason to give up: the next one follows it.
				"Retry": []map[string]any{{"ErrorEquals": []string{"States.ALL"}, "IntervalSeconds": 30, "MaxAttempts": 5, "BackoffRate": 2}},
				"End":   true,
			}},
		})
		return string(b), err
	}).(pulumi.StringOutput)
	machine, err := sfn.NewStateMachine(ctx, name+"-redeploy", &sfn.StateMachineArgs{
		Type:       pulumi.String("STANDARD"),
		RoleArn:    machineRole.role.Arn,
		Definition: definition,
	}, parent, pulumi.DependsOn(machineRole.after()))
	if err != nil {
		return fmt.Errorf("creating %s redeploy state machine: %w", name, err)
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
	}, parent, pulumi.DependsOn(after))
	if err != nil {
		return fmt.Errorf("creating %s secret-change rule: %w", name, err)
	}
	eventsRole, err := newServiceRole(ctx, account, name+"-secret-changed", "Lets EventBridge start the "+name+" redeploy",
		"events.amazonaws.com", account.arn("events", account.Region, "rule/*"), []statement{
			{Sid: "StartTheRedeploy", Actions: []string{"states:StartExecution"}, Resources: []pulumi.StringInput{machine.Arn}},
		}, parent)
	if err != nil {
		return err
	}
	if _, err := cloudwatch.NewEventTarget(ctx, name+"-secret-changed", &cloudwatch.EventTargetArgs{
		Rule:    rule.Name,
		Arn:     machine.Arn,
		RoleArn: eventsRole.role.Arn,
	}, parent, pulumi.DependsOn(eventsRole.after())); err != nil {
		return fmt.Errorf("creating %s secret-change target: %w", name, err)
	}
	return nil
}
