package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/accessanalyzer"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cfg"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/securityhub"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// This file is what watches the account: S3's public access block for the whole account, IAM
// Access Analyzer in each region (what is shared outside the account), and Security Hub with
// AWS's Foundational Security Best Practices standard over AWS Config's recording, in each
// region of the stacks: the controls the application's guard rules cite (S3.8, RDS.3, ECS.5,
// ...) run against the real resources. Each of them exists once per account (and region), so a
// replacement deletes the old one first.

// fsbpStandard is the ARN of the Foundational Security Best Practices standard in a region.
func fsbpStandard(partition, region string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s::standards/aws-foundational-security-best-practices/v/1.0.0", partition, region)
}

// newGuardrails creates the public access block, and in each region the analyzer, AWS Config's
// recording and Security Hub.
func newGuardrails(ctx *pulumi.Context, c *Config, account awsAccount, providers map[string]*aws.Provider, parent pulumi.ResourceOption) error {
	home := pulumi.Composite(parent, pulumi.Provider(providers[c.Region]))
	once := pulumi.Composite(parent, pulumi.DeleteBeforeReplace(true))
	if _, err := s3.NewAccountPublicAccessBlock(ctx, "account", &s3.AccountPublicAccessBlockArgs{
		BlockPublicAcls: pulumi.Bool(true), IgnorePublicAcls: pulumi.Bool(true),
		BlockPublicPolicy: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, home, once); err != nil {
		return fmt.Errorf("blocking public S3 access: %w", err)
	}
	var recorderRole *iam.ServiceLinkedRole
	var configBucket *bucket
	if c.SecurityHub {
		var err error
		// AWS Config records through its service-linked role, which exists once per account.
		if recorderRole, err = iam.NewServiceLinkedRole(ctx, "config", &iam.ServiceLinkedRoleArgs{
			AwsServiceName: pulumi.String("config.amazonaws.com"),
		}, home, once); err != nil {
			return err
		}
		if configBucket, err = newConfigBucket(ctx, c, account, home); err != nil {
			return err
		}
	}
	for _, region := range c.Regions() {
		in := pulumi.Composite(parent, pulumi.Provider(providers[region]))
		if _, err := accessanalyzer.NewAnalyzer(ctx, "analyzer-"+region, &accessanalyzer.AnalyzerArgs{
			AnalyzerName: pulumi.String("account"), Type: pulumi.String("ACCOUNT"),
		}, in, once); err != nil {
			return err
		}
		if !c.SecurityHub {
			continue
		}
		recorder, err := cfg.NewRecorder(ctx, "recorder-"+region, &cfg.RecorderArgs{
			Name:    pulumi.String("default"),
			RoleArn: recorderRole.Arn,
			RecordingGroup: &cfg.RecorderRecordingGroupArgs{
				AllSupported: pulumi.Bool(true),
				// IAM is global: recorded once, in the home region.
				IncludeGlobalResourceTypes: pulumi.Bool(region == c.Region),
			},
		}, in, once)
		if err != nil {
			return err
		}
		channel, err := cfg.NewDeliveryChannel(ctx, "delivery-"+region, &cfg.DeliveryChannelArgs{
			Name:         pulumi.String("default"),
			S3BucketName: configBucket.name,
		}, in, once, pulumi.DependsOn([]pulumi.Resource{recorder, configBucket.policy}))
		if err != nil {
			return err
		}
		if _, err := cfg.NewRecorderStatus(ctx, "recording-"+region, &cfg.RecorderStatusArgs{
			Name: recorder.Name, IsEnabled: pulumi.Bool(true),
		}, in, once, pulumi.DependsOn([]pulumi.Resource{channel})); err != nil {
			return err
		}
		hub, err := securityhub.NewAccount(ctx, "security-hub-"+region, &securityhub.AccountArgs{
			// The standard below, not the defaults (CIS too): the controls the guard rules cite.
			EnableDefaultStandards: pulumi.Bool(false),
			// One finding per control, across standards.
			ControlFindingGenerator: pulumi.String("SECURITY_CONTROL"),
			AutoEnableControls:      pulumi.Bool(true),
		}, in, once)
		if err != nil {
			return err
		}
		if _, err := securityhub.NewStandardsSubscription(ctx, "fsbp-"+region, &securityhub.StandardsSubscriptionArgs{
			StandardsArn: pulumi.String(fsbpStandard(account.Partition, region)),
		}, in, pulumi.DependsOn([]pulumi.Resource{hub})); err != nil {
			return err
		}
	}
	return nil
}
