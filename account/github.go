package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"coldchain/internal/accountwide"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// This file is what GitHub's workflows may do in the account: one OIDC provider, and for each
// application stack a preview role and a deployment role, each trusting exactly the one subject
// whose jobs assume it (docs/ci.md's table, derived from the workflows by the tests).

// githubIssuer is GitHub Actions' OIDC token issuer; sts.amazonaws.com is the audience
// aws-actions/configure-aws-credentials asks for.
const (
	githubIssuer   = "token.actions.githubusercontent.com"
	githubAudience = "sts.amazonaws.com"
)

// roleName is the name of a stack's role for GitHub: "<prefix>-github-<purpose>". The names are
// fixed, since their ARNs go into GitHub's variables.
func roleName(s AppStack, purpose string) string { return s.Prefix + "-github-" + purpose }

// GitHubRoles are the roles' ARNs, by stack and purpose ("preview", "deploy").
type GitHubRoles map[string]map[string]pulumi.StringOutput

// newGitHubAccess creates the OIDC provider and every stack's two roles.
func newGitHubAccess(ctx *pulumi.Context, c *Config, account awsAccount, state *stateBackend, opts ...pulumi.ResourceOption) (GitHubRoles, error) {
	provider, err := iam.NewOpenIdConnectProvider(ctx, "github", &iam.OpenIdConnectProviderArgs{
		Url:           pulumi.String("https://" + githubIssuer),
		ClientIdLists: pulumi.ToStringArray([]string{githubAudience}),
		// IAM trusts GitHub's certificate through its own store of root CAs: the thumbprint is
		// no longer checked for this issuer, but the API still takes one.
		ThumbprintLists: pulumi.ToStringArray([]string{"6938fd4d98bab03faadb97b34396831e3780aea1"}),
		// One provider per URL and account: a replacement created first would collide.
	}, append(opts, pulumi.DeleteBeforeReplace(true), pulumi.Protect(c.Protect))...)
	if err != nil {
		return nil, fmt.Errorf("creating the GitHub OIDC provider: %w", err)
	}
	roles := GitHubRoles{}
	for _, s := range c.Stacks {
		// The boundary of every role the stack creates (its rolePermissionsBoundary).
		if _, err := iam.NewPolicy(ctx, s.Name+"-role-boundary", &iam.PolicyArgs{
			Name:        pulumi.String(accountwide.RoleBoundaryName(s.Prefix)),
			Description: pulumi.String("What every role of stack " + s.Name + " may ever do"),
			Policy:      pulumi.String(accountwide.RoleBoundaryPolicy()),
			// The name is fixed: a replacement created first would collide with the old one.
		}, append(opts, pulumi.DeleteBeforeReplace(true), pulumi.Protect(c.Protect))...); err != nil {
			return nil, err
		}
		roles[s.Name] = map[string]pulumi.StringOutput{}
		for _, purpose := range []string{"preview", "deploy"} {
			subject, session := c.subject(s.Name), deploySessionSeconds
			if purpose == "preview" {
				subject, session = c.subject(s.PreviewEnvironment), 3600
			}
			// The policy names the state key, once it exists.
			policy := state.keyArn().ApplyT(func(keyArn string) (string, error) {
				access := stateAccess(account, state.bucketName(account), keyArn, purpose == "deploy")
				if purpose == "preview" {
					return previewPolicy(access)
				}
				return deployPolicy(s, account, access)
			}).(pulumi.StringOutput)
			role, err := iam.NewRole(ctx, s.Name+"-"+purpose, &iam.RoleArgs{
				Name:               pulumi.String(roleName(s, purpose)),
				Description:        pulumi.String(fmt.Sprintf("GitHub Actions: the %s of stack %s, for %s only", purpose, s.Name, subject)),
				AssumeRolePolicy:   trustPolicy(provider.Arn, subject),
				MaxSessionDuration: pulumi.Int(session),
			}, append(opts, pulumi.DeleteBeforeReplace(true), pulumi.Protect(c.Protect))...)
			if err != nil {
				return nil, fmt.Errorf("creating the %s %s role: %w", s.Name, purpose, err)
			}
			if purpose == "preview" {
				if _, err := iam.NewRolePolicyAttachment(ctx, s.Name+"-preview-read-only", &iam.RolePolicyAttachmentArgs{
					Role: role.Name, PolicyArn: pulumi.Sprintf("arn:%s:iam::aws:policy/ReadOnlyAccess", account.Partition),
				}, opts...); err != nil {
					return nil, err
				}
			}
			if _, err := iam.NewRolePolicy(ctx, s.Name+"-"+purpose, &iam.RolePolicyArgs{
				Role: role.Name, Policy: policy,
			}, opts...); err != nil {
				return nil, err
			}
			roles[s.Name][purpose] = role.Arn
		}
	}
	return roles, nil
}

// trustPolicy lets exactly one subject's tokens, for STS, assume the role.
func trustPolicy(providerArn pulumi.StringOutput, subject string) pulumi.StringOutput {
	return providerArn.ApplyT(func(arn string) (string, error) {
		return document(statement{
			Sid: "GitHubActions", Effect: "Allow", Actions: []string{"sts:AssumeRoleWithWebIdentity"},
			Principal: map[string]any{"Federated": arn},
			Condition: map[string]map[string]any{"StringEquals": {
				githubIssuer + ":aud": githubAudience,
				githubIssuer + ":sub": subject,
			}},
		})
	}).(pulumi.StringOutput)
}

// previewDenied is what a preview never reads, and a pull request's code must not: what the
// stacks hold (logs, objects, images, secrets, parameters, sessions) rather than what they are.
// ReadOnlyAccess grants these; the role's own policy denies them.
var previewDenied = []string{
	"logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "logs:GetQueryResults", "logs:StartLiveTail",
	"s3:GetObject*", "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
	"secretsmanager:GetSecretValue", "ssm:GetParameter*", "ssm:StartSession", "ecs:ExecuteCommand", "kms:Decrypt",
	"rds:DownloadDBLogFilePortion", "elasticache:DescribeUsers",
}

// previewPolicy is the preview role's own policy beside ReadOnlyAccess: the one non-read call a
// preview makes (the provider validates the redeploy state machine's definition with it) and
// the denial of the stacks' data.
func previewPolicy(state []statement) (string, error) {
	deny := statement{Sid: "NotTheStacksData", Effect: "Deny", Actions: previewDenied, Resources: []string{"*"}}
	if len(state) > 0 {
		// The state is what a preview reads: the deny spares its objects and its key alone.
		deny.Resources, deny.NotResources = nil, stateResources(state)
	}
	return document(append([]statement{
		{Sid: "ValidateStateMachines", Effect: "Allow", Actions: []string{"states:ValidateStateMachineDefinition"}, Resources: []string{"*"}},
		deny,
	}, state...)...)
}

// stateAccess is what a role needs of the account's self-managed state backend, when it has
// one (bucket ""): a deployment reads and writes the stacks' state and encrypts their secrets; a
// preview reads them (a self-managed backend takes no lock for a preview).
func stateAccess(account awsAccount, bucket, keyArn string, write bool) []statement {
	if bucket == "" {
		return nil
	}
	bucketArn := "arn:" + account.Partition + ":s3:::" + bucket
	out := []statement{
		{Sid: "StateBucket", Effect: "Allow", Actions: []string{"s3:ListBucket"}, Resources: []string{bucketArn}},
		{Sid: "StateRead", Effect: "Allow", Actions: []string{"s3:GetObject"}, Resources: []string{bucketArn + "/*"}},
		{Sid: "StateKey", Effect: "Allow", Actions: []string{"kms:Decrypt"}, Resources: []string{keyArn}},
	}
	if write {
		out[2].Actions = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}
		out = append(out, statement{Sid: "StateWrite", Effect: "Allow", Actions: []string{"s3:PutObject", "s3:DeleteObject"},
			Resources: []string{bucketArn + "/*"}},
			// A deployment manages keys (kms:*), but not the one every stack's state and
			// secrets are encrypted with, nor its alias.
			statement{Sid: "StateKeyKept", Effect: "Deny", Actions: []string{"kms:ScheduleKeyDeletion", "kms:DisableKey",
				"kms:PutKeyPolicy", "kms:CreateGrant", "kms:RevokeGrant", "kms:DeleteAlias", "kms:UpdateAlias"},
				Resources: []string{keyArn, "arn:" + account.Partition + ":kms:*:" + account.AccountID + ":" + stateKeyAlias}})
	}
	return out
}

// stateResources are what a preview reads of the state: its objects and its key.
func stateResources(state []statement) []string {
	var out []string
	for _, s := range state {
		if s.Sid == "StateRead" || s.Sid == "StateKey" {
			out = append(out, s.Resources...)
		}
	}
	return out
}

// deploySessionSeconds is how long a deployment's credentials last: a first production deploy
// (the database, the cache, the services' rollouts) takes longer than an hour.
const deploySessionSeconds = 4 * 3600

// scopedServices are the services whose resources the stacks name with their prefix: the
// deployment role may act on those of its stack only. ARN patterns take "{prefix}" and
// "{account}".
var scopedServices = []struct {
	service   string
	resources []string
}{
	{"ecr", []string{"arn:{partition}:ecr:*:{account}:repository/{prefix}/*"}},
	{"s3", []string{"arn:{partition}:s3:::{prefix}-*", "arn:{partition}:s3:::{prefix}-*/*"}},
	{"logs", []string{"arn:{partition}:logs:*:{account}:log-group:*{prefix}*", "arn:{partition}:logs:*:{account}:log-group:*{prefix}*:log-stream:*"}},
	// Application Auto Scaling creates a target-tracking policy's alarms with the caller's
	// rights, named after the scaled service ("TargetTracking-service/<cluster>/<service>-...").
	{"cloudwatch", []string{"arn:{partition}:cloudwatch:*:{account}:alarm:{prefix}-*", "arn:{partition}:cloudwatch::{account}:dashboard/{prefix}",
		"arn:{partition}:cloudwatch:*:{account}:alarm:TargetTracking-service/{prefix}/*"}},
}

// unscopedServices are the services whose resources the stacks cannot all name with their
// prefix (autonamed roles, security groups, subnets, keys, secrets, topics, state machines, rules,
// load balancers, target groups, scaling policies; records in a zone the team owns): the
// deployment role acts on them in the whole account. docs/account.md lists them, and a test
// holds this list to it.
var unscopedServices = []string{
	"acm", "application-autoscaling", "ec2", "ecs", "elasticache", "elasticloadbalancing", "events", "kms",
	"rds", "route53", "secretsmanager", "sns", "states", "wafv2",
}

// deployActions are what every deployment does in the account itself: its reads, and the log
// deliveries AWS WAF and ElastiCache set up for the stack's log groups (vended logs, which take
// no resource; the WAF log policy they rely on is the account stack's, which a deployment may
// read and not write).
var deployActions = []string{
	"sts:GetCallerIdentity", "logs:DescribeLogGroups", "logs:ListTagsForResource", "cloudwatch:DescribeAlarms",
	"cloudwatch:ListTagsForResource", "ecr:GetAuthorizationToken", "ecr:DescribeRegistry", "s3:ListAllMyBuckets",
	"iam:ListRoles", "iam:GetPolicy", "iam:GetPolicyVersion",
	"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
	"logs:ListLogDeliveries", "logs:DescribeResourcePolicies",
}

// deployPolicy is a stack's deployment role's policy: what the stack manages. The IAM roles it
// creates are autonamed (no prefix), so it may manage roles, but not the account stack's own
// (the roles for GitHub and the OIDC provider), and pass roles only to the services its stack's
// roles serve.
func deployPolicy(s AppStack, account awsAccount, state []statement) (string, error) {
	arn := strings.NewReplacer("{partition}", account.Partition, "{account}", account.AccountID, "{prefix}", s.Prefix).Replace
	statements := []statement{{Sid: "CallsOnTheAccount", Effect: "Allow", Actions: deployActions, Resources: []string{"*"}}}
	extra := map[string][]string{}
	for _, name := range s.Repositories {
		extra["ecr"] = append(extra["ecr"], "arn:{partition}:ecr:*:{account}:repository/"+name+"*")
	}
	for _, name := range s.Buckets {
		extra["s3"] = append(extra["s3"], "arn:{partition}:s3:::"+name+"*", "arn:{partition}:s3:::"+name+"*/*")
	}
	for _, name := range s.LogGroups {
		extra["logs"] = append(extra["logs"], "arn:{partition}:logs:*:{account}:log-group:"+name+"*",
			"arn:{partition}:logs:*:{account}:log-group:"+name+"*:log-stream:*")
	}
	for _, svc := range scopedServices {
		var resources []string
		for _, r := range append(slices.Clone(svc.resources), extra[svc.service]...) {
			resources = append(resources, arn(r))
		}
		statements = append(statements, statement{Sid: "TheStacks" + strings.ToUpper(svc.service[:1]) + svc.service[1:], Effect: "Allow",
			Actions: []string{svc.service + ":*"}, Resources: resources})
	}
	var unscoped []string
	for _, svc := range unscopedServices {
		unscoped = append(unscoped, svc+":*")
	}
	statements = append(statements,
		statement{Sid: "TheStacksOtherServices", Effect: "Allow", Actions: unscoped, Resources: []string{"*"}},
		statement{Sid: "ReadRoles", Effect: "Allow", Actions: []string{
			"iam:GetRole", "iam:ListRoleTags", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
			"iam:ListInstanceProfilesForRole",
		}, Resources: []string{arn("arn:{partition}:iam::{account}:role/*")}},
		// A role the deployment creates or writes a policy into carries the stack's boundary
		// (rolePermissionsBoundary): whatever its policy says, it can do no more than the
		// application's roles need, so no role the deployment makes is worth more than the
		// deployment itself.
		statement{Sid: "BoundedRoles", Effect: "Allow", Actions: []string{
			"iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary",
		}, Resources: []string{arn("arn:{partition}:iam::{account}:role/*")},
			Condition: map[string]map[string]any{"StringEquals": {"iam:PermissionsBoundary": arn("arn:{partition}:iam::{account}:policy/" + accountwide.RoleBoundaryName(s.Prefix))}}},
		statement{Sid: "TheStacksRoles", Effect: "Allow", Actions: []string{"iam:DeleteRole", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole"},
			Resources: []string{arn("arn:{partition}:iam::{account}:role/*")}},
		statement{Sid: "PassTheStacksRoles", Effect: "Allow", Actions: []string{"iam:PassRole"},
			Resources: []string{arn("arn:{partition}:iam::{account}:role/*")},
			Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": passedToServices}}},
		statement{Sid: "ServiceLinkedRoles", Effect: "Allow", Actions: []string{"iam:CreateServiceLinkedRole"},
			Resources: []string{arn("arn:{partition}:iam::{account}:role/aws-service-role/*")},
			Condition: map[string]map[string]any{"StringEquals": {"iam:AWSServiceName": serviceLinkedRoles}}},
		// Nothing of the account stack's: its roles for GitHub (a deployment could widen its
		// own rights) and the OIDC provider.
		statement{Sid: "NotTheAccountsOwn", Effect: "Deny", Actions: []string{"iam:*"},
			Resources: []string{arn("arn:{partition}:iam::{account}:role/*-github-*"), arn("arn:{partition}:iam::{account}:oidc-provider/*")}},
		// No role's trust is rewritten (another role's made to trust the deployment) and no
		// boundary removed. The stacks' trust policies name only AWS services: a change of
		// one is the account administrator's.
		statement{Sid: "NoTrustRewrites", Effect: "Deny", Actions: []string{"iam:UpdateAssumeRolePolicy", "iam:DeleteRolePermissionsBoundary"},
			Resources: []string{"*"}},
	)
	return document(append(statements, state...)...)
}

// passedToServices are the services the stacks' roles serve: ECS tasks (execution and task
// roles), Step Functions (the redeploy), EventBridge (its trigger), VPC flow logs, S3
// replication, RDS enhanced monitoring.
var passedToServices = []string{"ecs-tasks.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com",
	"vpc-flow-logs.amazonaws.com", "s3.amazonaws.com", "monitoring.rds.amazonaws.com"}

// serviceLinkedRoles are the service-linked roles the stacks' services create on first use.
var serviceLinkedRoles = []string{"ecs.amazonaws.com", "elasticache.amazonaws.com", "rds.amazonaws.com",
	"elasticloadbalancing.amazonaws.com", "ecs.application-autoscaling.amazonaws.com"}

// statement is one statement of an IAM policy document.
type statement struct {
	Sid          string                    `json:"Sid"`
	Effect       string                    `json:"Effect"`
	Principal    map[string]any            `json:"Principal,omitempty"`
	Actions      []string                  `json:"Action"`
	Resources    []string                  `json:"Resource,omitempty"`
	NotResources []string                  `json:"NotResource,omitempty"`
	Condition    map[string]map[string]any `json:"Condition,omitempty"`
}

// document renders a policy document.
func document(statements ...statement) (string, error) {
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	return string(b), err
}
