package main

import (
	"coldchain/internal/limits"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// This file is the account's settings that exist once per account and region: the ECR
// registry's replication (PutReplicationConfiguration replaces the whole configuration, and
// the provider's delete empties it) and the CloudWatch Logs resource policy that lets AWS WAF
// deliver its logs (an account has 10 such policies per region, of 5,120 characters each, and
// WAF adds its log groups to a generic one, AWSWAF-LOGS, when none grants it already). Two
// stacks that both declared them would overwrite each other's, and the destroy of one would
// empty the other's. So one stack of an account owns them (accountSettingsOwner), for every
// stack of the account: its registry replication copies its own repositories and those the
// others list (accountReplicatedRepositories), and its log policy grants WAF every
// aws-waf-logs-* group of the account and region. Its destroy keeps them. The other stacks
// only read what they need.

// AccountSettingsConfig says whether the stack owns its account's settings, and what they
// cover besides the stack's own needs.
type AccountSettingsConfig struct {
	// Owner (accountSettingsOwner, default false; production: true) declares the account's
	// settings in this stack.
	Owner bool
	// ReplicatedRepositories (accountReplicatedRepositories, optional) are, by DR region, the
	// repositories of the account's other stacks (names, or prefixes of names) that the
	// owner's registry replication copies there.
	ReplicatedRepositories map[string][]string
}

// ecrFilterPattern is the pattern of a replication rule's repository filter (ECR's
// RepositoryFilter): a repository name or a beginning of one.
var ecrFilterPattern = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$`)

// wafLogPolicyName is the name of the log policy AWS WAF itself creates and edits: the owner
// takes it over with one that covers every WAF log group, so that WAF has nothing to add.
const wafLogPolicyName = "AWSWAF-LOGS"

// registryRules are the owner's registry replication rules: by DR region, the repository
// name prefixes copied there, the stack's own under its drRegion. Sorted, for a stable plan.
func (c *Config) registryRules() map[string][]string {
	rules := map[string][]string{}
	for region, prefixes := range c.AccountSettings.ReplicatedRepositories {
		rules[region] = append(rules[region], prefixes...)
	}
	if c.DrRegion != "" {
		for _, svc := range c.Services {
			rules[c.DrRegion] = append(rules[c.DrRegion], svc.RepositoryName)
		}
	}
	for region := range rules {
		sort.Strings(rules[region])
		rules[region] = slices.Compact(rules[region])
	}
	return rules
}

// checkAccountSettings checks what the owner replicates: DR regions other than the stack's,
// repository names ECR takes, and the registry's limits (10 rules, 100 filters a rule).
func (p *problems) checkAccountSettings(c *Config) {
	const key = "accountReplicatedRepositories"
	extra := c.AccountSettings.ReplicatedRepositories
	if len(extra) > 0 && !c.AccountSettings.Owner {
		p.add(key, fmt.Sprint(extra), "unset on a stack that does not own the account's settings "+
			"(accountSettingsOwner: true): only the owner declares the registry's replication")
	}
	for _, region := range sortedKeys(extra) {
		switch {
		case !regionPattern.MatchString(region):
			p.add(key, region, "DR region names such as ap-northeast-1 as the map's keys")
		case region == c.Region:
			p.add(key, region, "regions other than aws:region ("+c.Region+") as the map's keys: a copy in the same region survives nothing")
		}
		for _, name := range extra[region] {
			if len(name) < 2 || len(name) > 256 || !ecrFilterPattern.MatchString(name) {
				p.add(key, name, "repository names, or their beginnings, as ECR's replication filters take them: "+
					"lowercase letters, digits, '.', '_', '-' and '/', 2 to 256 characters")
			}
		}
	}
	rules := c.registryRules()
	if len(rules) > limits.EcrReplicationRules {
		p.add(key, fmt.Sprint(extra), fmt.Sprintf("at most %d DR regions with the stack's own: ECR takes %d replication rules",
			limits.EcrReplicationRules, limits.EcrReplicationRules))
	}
	for _, region := range sortedKeys(rules) {
		if len(rules[region]) > limits.EcrReplicationFilters {
			p.add(key, region, fmt.Sprintf("at most %d repositories for a region (ECR's filters per rule)", limits.EcrReplicationFilters))
		}
	}
}

// accountSettingsWarnings say what a stack that does not own its account's settings relies on
// the owner for.
func (c *Config) accountSettingsWarnings() []string {
	if c.AccountSettings.Owner {
		return nil
	}
	var out []string
	if c.DrRegion != "" {
		var names []string
		for _, svc := range c.Services {
			names = append(names, svc.RepositoryName)
		}
		out = append(out, fmt.Sprintf("the images replicate to %s only once the stack that owns the account's settings "+
			"lists this stack's repositories in accountReplicatedRepositories[%q]: %s (docs/changing-a-stack.md)",
			c.DrRegion, c.DrRegion, strings.Join(names, ", ")))
	}
	return out
}

// AccountSettings is the account's settings, declared by the stack that owns them.
type AccountSettings struct {
	pulumi.ResourceState

	// WafLogPolicy is the log policy WAF delivers through: the firewall's logging waits for it.
	WafLogPolicy pulumi.Resource
}

// newAccountSettings declares the account's settings when the stack owns them (nil
// otherwise): the registry's replication and the WAF log policy. They outlive the stack
// (RetainOnDelete): other stacks of the account rely on them.
func newAccountSettings(ctx *pulumi.Context, cfg *Config, account awsAccount, dr *DisasterRecovery, inArea pulumi.ResourceOption) (*AccountSettings, error) {
	if !cfg.AccountSettings.Owner {
		return nil, nil
	}
	a := &AccountSettings{}
	if err := ctx.RegisterComponentResource("coldchain:index:AccountSettings", "account", a, inArea); err != nil {
		return nil, err
	}
	child := pulumi.Parent(a)
	keep := pulumi.RetainOnDelete(true)
	if rules := cfg.registryRules(); len(rules) > 0 {
		var ruleArgs ecr.ReplicationConfigurationReplicationConfigurationRuleArray
		for _, region := range sortedKeys(rules) {
			var filters ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArray
			for _, prefix := range rules[region] {
				// ECR filters by prefix only: a repository whose name starts with one of these
				// is copied too.
				filters = append(filters, &ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs{
					Filter: pulumi.String(prefix), FilterType: pulumi.String("PREFIX_MATCH"),
				})
			}
			ruleArgs = append(ruleArgs, &ecr.ReplicationConfigurationReplicationConfigurationRuleArgs{
				Destinations: ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArray{
					&ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs{
						Region: pulumi.String(region), RegistryId: pulumi.String(account.AccountID),
					},
				},
				RepositoryFilters: filters,
			})
		}
		var after []pulumi.Resource
		if dr != nil {
			// The stack's replicas exist before the first image is copied, or ECR would
			// create them itself (AES-256, mutable tags, no lifecycle policy).
			after = dr.replicaRepositories
		}
		if _, err := ecr.NewReplicationConfiguration(ctx, "images", &ecr.ReplicationConfigurationArgs{
			ReplicationConfiguration: &ecr.ReplicationConfigurationReplicationConfigurationArgs{Rules: ruleArgs},
		}, child, keep, pulumi.DependsOn(after), pulumi.Aliases(movedFromDisasterRecovery(ctx))); err != nil {
			return nil, fmt.Errorf("creating the registry's replication: %w", err)
		}
	}
	policy, err := cloudwatch.NewLogResourcePolicy(ctx, "waf-logs", &cloudwatch.LogResourcePolicyArgs{
		PolicyName:     pulumi.String(wafLogPolicyName),
		PolicyDocument: wafLogDeliveryPolicy(account),
		// The name is fixed: a replacement created first would be deleted with the old one.
	}, child, keep, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("creating the WAF log delivery policy: %w", err)
	}
	a.WafLogPolicy = policy
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{})
}

// movedFromDisasterRecovery keeps the URN the registry replication had when the DR area
// declared it, before it became an account setting.
func movedFromDisasterRecovery(ctx *pulumi.Context) []pulumi.Alias {
	former := fmt.Sprintf("urn:pulumi:%s::%s::coldchain:index:DisasterRecovery::dr", ctx.Stack(), ctx.Project())
	return []pulumi.Alias{{ParentURN: pulumi.URN(former)}}
}

// wafLogDeliveryPolicy lets the log delivery service write the logs of AWS WAF to every
// aws-waf-logs-* group of the account and region, for this account's resources only: the
// policy AWS documents for vended logs, with one wildcard instead of a line per group.
func wafLogDeliveryPolicy(account awsAccount) pulumi.StringOutput {
	return policyJSON(statement{
		Sid:        "AWSLogDeliveryWrite",
		Principals: servicePrincipal("delivery.logs.amazonaws.com"),
		Actions:    []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		Resources: []pulumi.StringInput{pulumi.Sprintf("arn:%s:logs:%s:%s:log-group:aws-waf-logs-*:log-stream:*",
			account.Partition, account.Region, account.AccountID)},
		Conditions: map[string]map[string]any{
			"StringEquals": {"aws:SourceAccount": account.AccountID},
			"ArnLike":      {"aws:SourceArn": fmt.Sprintf("arn:%s:logs:%s:%s:*", account.Partition, account.Region, account.AccountID)},
		},
	})
}
