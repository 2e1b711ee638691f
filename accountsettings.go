package main

import (
	"coldchain/internal/accountwide"
	"fmt"

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
		var after []pulumi.Resource
		if dr != nil {
			// The stack's replicas exist before the first image is copied, or ECR would
			// create them itself (AES-256, mutable tags, no lifecycle policy).
			after = dr.replicaRepositories
		}
		if _, err := ecr.NewReplicationConfiguration(ctx, "images", &ecr.ReplicationConfigurationArgs{
			ReplicationConfiguration: accountwide.RegistryReplication(account.AccountID, rules),
		}, child, keep, pulumi.DependsOn(after), pulumi.Aliases(movedFromDisasterRecovery(ctx))); err != nil {
			return nil, fmt.Errorf("creating the registry's replication: %w", err)
		}
	}
	policy, err := cloudwatch.NewLogResourcePolicy(ctx, "waf-logs", &cloudwatch.LogResourcePolicyArgs{
		PolicyName:     pulumi.String(accountwide.WafLogPolicyName),
		PolicyDocument: pulumi.String(accountwide.LogDeliveryPolicy(account.Partition, account.Region, account.AccountID)),
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
