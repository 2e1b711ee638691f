package main

import (
	"coldchain/internal/accountwide"
	"fmt"
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

// replicationRules are a region's registry replication rules: by DR region, the repository
// prefixes ("<prefix>/") of the stacks there that have one.
func (c *Config) replicationRules(region string) map[string][]string {
	rules := map[string][]string{}
	for _, s := range c.Stacks {
		if s.Region == region && s.DrRegion != "" {
			rules[s.DrRegion] = append(rules[s.DrRegion], s.Prefix+"/")
			rules[s.DrRegion] = append(rules[s.DrRegion], s.Repositories...)
		}
	}
	for dr := range rules {
		slices.Sort(rules[dr])
	}
	return rules
}

// newRegionSingletons creates, in each region of the stacks, the registry's replication and the
// log policy the caches' and firewalls' log deliveries write through.
func newRegionSingletons(ctx *pulumi.Context, c *Config, account awsAccount, providers map[string]*aws.Provider, parent pulumi.ResourceOption) error {
	for _, region := range c.Regions() {
		keep := []pulumi.ResourceOption{parent, pulumi.Provider(providers[region]), pulumi.RetainOnDelete(true), pulumi.DeleteBeforeReplace(true)}
		if rules := c.replicationRules(region); len(rules) > 0 {
			if _, err := ecr.NewReplicationConfiguration(ctx, "images-"+region, &ecr.ReplicationConfigurationArgs{
				ReplicationConfiguration: accountwide.RegistryReplication(account.AccountID, rules),
			}, keep...); err != nil {
				return fmt.Errorf("creating the registry's replication in %s: %w", region, err)
			}
		}
		// Every stack's cache delivers its logs, and a firewall its own, through this policy.
		if !slices.ContainsFunc(c.Stacks, func(s AppStack) bool { return s.Region == region }) {
			continue
		}
		if _, err := cloudwatch.NewLogResourcePolicy(ctx, "waf-logs-"+region, &cloudwatch.LogResourcePolicyArgs{
			PolicyName:     pulumi.String(accountwide.WafLogPolicyName),
			PolicyDocument: pulumi.String(accountwide.LogDeliveryPolicy(account.Partition, region, account.AccountID)),
		}, keep...); err != nil {
			return fmt.Errorf("creating the log delivery policy in %s: %w", region, err)
		}
	}
	return nil
}
