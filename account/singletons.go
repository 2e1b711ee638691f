package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// This file is the settings that exist once per account and region, for every stack of the
// account: the registry's replication (PutReplicationConfiguration replaces the whole
// configuration: one owner writes every stack's rules) and the log policy AWS WAF delivers
// through. The application stacks leave them to this stack (accountSettingsOwner false). They
// outlive it: the stacks rely on them.

// wafLogPolicyName is the policy AWS WAF itself creates and edits: one that already covers every
// WAF log group leaves it nothing to add.
const wafLogPolicyName = "AWSWAF-LOGS"

// replicationRules are a region's registry replication rules: by DR region, the repository
// prefixes ("<prefix>/") of the stacks there that have one.
func (c *Config) replicationRules(region string) map[string][]string {
	rules := map[string][]string{}
	for _, s := range c.Stacks {
		if s.Region == region && s.DrRegion != "" {
			rules[s.DrRegion] = append(rules[s.DrRegion], s.Prefix+"/")
		}
	}
	for dr := range rules {
		slices.Sort(rules[dr])
	}
	return rules
}

// newRegionSingletons creates, in each region of the stacks, the registry's replication and,
// where a stack has a firewall, the WAF log policy.
func newRegionSingletons(ctx *pulumi.Context, c *Config, account awsAccount, providers map[string]*aws.Provider) error {
	for _, region := range c.Regions() {
		in := pulumi.Provider(providers[region])
		keep := []pulumi.ResourceOption{in, pulumi.RetainOnDelete(true), pulumi.DeleteBeforeReplace(true)}
		if rules := c.replicationRules(region); len(rules) > 0 {
			var ruleArgs ecr.ReplicationConfigurationReplicationConfigurationRuleArray
			for _, dr := range slices.Sorted(maps.Keys(rules)) {
				var filters ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArray
				for _, prefix := range rules[dr] {
					filters = append(filters, &ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs{
						Filter: pulumi.String(prefix), FilterType: pulumi.String("PREFIX_MATCH"),
					})
				}
				ruleArgs = append(ruleArgs, &ecr.ReplicationConfigurationReplicationConfigurationRuleArgs{
					Destinations: ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArray{
						&ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs{
							Region: pulumi.String(dr), RegistryId: pulumi.String(account.AccountID),
						},
					},
					RepositoryFilters: filters,
				})
			}
			if _, err := ecr.NewReplicationConfiguration(ctx, "images-"+region, &ecr.ReplicationConfigurationArgs{
				ReplicationConfiguration: &ecr.ReplicationConfigurationReplicationConfigurationArgs{Rules: ruleArgs},
			}, keep...); err != nil {
				return fmt.Errorf("creating the registry's replication in %s: %w", region, err)
			}
		}
		if !slices.ContainsFunc(c.Stacks, func(s AppStack) bool { return s.Region == region && s.Waf }) {
			continue
		}
		policy, err := document(statement{
			Sid: "AWSLogDeliveryWrite", Effect: "Allow", Principal: map[string]any{"Service": "delivery.logs.amazonaws.com"},
			Actions:   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resources: []string{fmt.Sprintf("arn:%s:logs:%s:%s:log-group:aws-waf-logs-*:log-stream:*", account.Partition, region, account.AccountID)},
			Condition: map[string]map[string]any{
				"StringEquals": {"aws:SourceAccount": account.AccountID},
				"ArnLike":      {"aws:SourceArn": fmt.Sprintf("arn:%s:logs:%s:%s:*", account.Partition, region, account.AccountID)},
			},
		})
		if err != nil {
			return err
		}
		if _, err := cloudwatch.NewLogResourcePolicy(ctx, "waf-logs-"+region, &cloudwatch.LogResourcePolicyArgs{
			PolicyName: pulumi.String(wafLogPolicyName), PolicyDocument: pulumi.String(policy),
		}, keep...); err != nil {
			return fmt.Errorf("creating the WAF log delivery policy in %s: %w", region, err)
		}
	}
	return nil
}
