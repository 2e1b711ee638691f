// Package accountwide builds the settings that exist once per AWS account and region, which
// one stack of the account owns for all: the registry's replication and the log policy AWS WAF
// delivers through. The account stack (account/) owns them; an application stack does when a
// team runs no account stack (accountSettingsOwner).
package accountwide

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// WafLogPolicyName names the log delivery policy (LogDeliveryPolicy): the policy AWS WAF itself
// creates and edits, so that one which already covers every WAF log group leaves it nothing to
// add.
const WafLogPolicyName = "AWSWAF-LOGS"

// RegistryReplication is a registry's replication: by DR region (sorted), the repository name
// prefixes copied there, into the same account's registry. ECR filters by prefix only: a
// repository whose name starts with one of them is copied too.
func RegistryReplication(accountID string, rules map[string][]string) *ecr.ReplicationConfigurationReplicationConfigurationArgs {
	var ruleArgs ecr.ReplicationConfigurationReplicationConfigurationRuleArray
	for _, region := range slices.Sorted(maps.Keys(rules)) {
		var filters ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArray
		for _, prefix := range rules[region] {
			filters = append(filters, &ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs{
				Filter: pulumi.String(prefix), FilterType: pulumi.String("PREFIX_MATCH"),
			})
		}
		ruleArgs = append(ruleArgs, &ecr.ReplicationConfigurationReplicationConfigurationRuleArgs{
			Destinations: ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArray{
				&ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs{
					Region: pulumi.String(region), RegistryId: pulumi.String(accountID),
				},
			},
			RepositoryFilters: filters,
		})
	}
	return &ecr.ReplicationConfigurationReplicationConfigurationArgs{Rules: ruleArgs}
}

// LogDeliveryPolicy lets the log delivery service write the vended logs of AWS WAF (every
// aws-waf-logs-* group) and of ElastiCache (every /aws/elasticache/* group) of the account and
// region, for this account's resources only: the policy AWS documents for vended logs, with a
// wildcard instead of a line per group. Without it, each delivery's first setup would need the
// deploying role to write the account's resource policies itself (logs:PutResourcePolicy).
func LogDeliveryPolicy(partition, region, accountID string) string {
	b, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":       "AWSLogDeliveryWrite",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "delivery.logs.amazonaws.com"},
			"Action":    []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			"Resource": []string{
				fmt.Sprintf("arn:%s:logs:%s:%s:log-group:aws-waf-logs-*:log-stream:*", partition, region, accountID),
				fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/aws/elasticache/*:log-stream:*", partition, region, accountID),
			},
			"Condition": map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": accountID},
				"ArnLike":      map[string]any{"aws:SourceArn": fmt.Sprintf("arn:%s:logs:%s:%s:*", partition, region, accountID)},
			},
		}},
	})
	return string(b)
}

// RoleBoundaryName is the managed policy that bounds every role an application stack creates:
// the account stack creates it, the stack names it in rolePermissionsBoundary, and the stack's
// deployment role may create and change roles only with it. A role the deployment creates can
// then never do more than the application's roles need, whatever its own policy says.
func RoleBoundaryName(prefix string) string { return prefix + "-role-boundary" }

// RoleBoundaryActions are what the application's roles may ever do: the task and execution
// roles (images, logs, secrets, parameters, the uploads, the queue, ECS Exec's channels), the
// redeploy's state machine and trigger, the buckets' replication. No IAM, no STS, nothing that
// starts tasks or changes keys. TestEveryRoleStaysWithinItsBoundary holds every action of every
// role the stacks plan to it.
var RoleBoundaryActions = []string{
	"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer",
	"ecs:DescribeServices", "ecs:UpdateService",
	"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
	"logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:PutLogEvents",
	"s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject",
	"s3:GetObjectVersion*", "s3:GetReplicationConfiguration", "s3:Replicate*",
	"secretsmanager:GetSecretValue", "ssm:GetParameters",
	"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage",
	"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
	"states:ListExecutions", "states:StartExecution",
}

// RoleBoundaryPolicy is the boundary's document.
func RoleBoundaryPolicy() string {
	b, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid": "WhatTheApplicationsRolesDo", "Effect": "Allow", "Action": RoleBoundaryActions, "Resource": "*",
		}},
	})
	return string(b)
}
