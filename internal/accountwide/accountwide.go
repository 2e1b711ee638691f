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

// WafLogPolicyName is the log policy AWS WAF itself creates and edits: one that already covers
// every WAF log group leaves it nothing to add.
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

// WafLogDeliveryPolicy lets the log delivery service write the vended logs of AWS WAF (every
// aws-waf-logs-* group) and of ElastiCache (every /aws/elasticache/* group) of the account and
// region, for this account's resources only: the policy AWS documents for vended logs, with a
// wildcard instead of a line per group. Without it, each delivery's first setup would need the
// deploying role to write the account's resource policies itself (logs:PutResourcePolicy).
func WafLogDeliveryPolicy(partition, region, accountID string) string {
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
