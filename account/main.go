// Command account is the Pulumi program of an AWS account under the coldchain stacks: what
// GitHub's workflows may do there (an OIDC provider and each stack's preview and deployment
// roles), the settings that exist once per account and region (the registry's replication, the
// log policy AWS WAF delivers through), S3's account-wide public access block, a budget per
// stack, Security Hub with AWS Config recording, IAM Access Analyzer, and optionally a
// self-managed Pulumi state backend. One stack per account: Pulumi.shared.yaml for staging and
// production in one account, Pulumi.staging.yaml and Pulumi.production.yaml for one each.
//
// "pulumi up" runs it from this directory; "go run ./account plan --stack shared" plans it
// offline, from the repository's root or from here.
package main

import (
	"coldchain/internal/offline"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(command(os.Args[1:], os.Stdout, os.Stderr))
	}
	pulumi.Run(deploy)
}

const usage = `account: the AWS account under the coldchain stacks, as a Pulumi program.

usage:
  go run ./account plan [--stack NAME] [--json] [-c key=value ...]
      plan the account stack NAME (default shared) offline, from Pulumi.NAME.yaml
  go run ./account help
      print this text

docs/account.md says what it creates and the order to deploy it in.
`

// command runs a subcommand and returns the exit status.
func command(args []string, stdout, stderr io.Writer) int {
	switch args[0] {
	case "plan":
		dir, err := projectDir()
		if err != nil {
			fmt.Fprintln(stderr, "plan:", err)
			return 1
		}
		return offline.CommandIn(dir, append([]string{"--stack", "shared"}, args[1:]...), stdout, stderr, usage, planStack)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return 2
}

// project is the account program's Pulumi project name.
const project = "coldchain-account"

// projectDir is where the account project's Pulumi.yaml is: here when run by the Pulumi CLI
// or from this directory, account/ when run from the repository's root.
func projectDir() (string, error) {
	for _, dir := range []string{".", "account"} {
		if name, err := offline.ReadProjectName(dir); err == nil && name == project {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no %s project here or in ./account: run it from the repository's root or from account/", project)
}

// deploy is what "pulumi up" runs: the stack's config, validated before any resource is
// registered, then the account.
func deploy(ctx *pulumi.Context) error {
	raw := map[string]string{}
	if s := os.Getenv(pulumi.EnvConfig); s != "" {
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return fmt.Errorf("reading the stack config from %s: %w", pulumi.EnvConfig, err)
		}
	}
	c, err := loadConfig(ctx.Project(), raw)
	if err != nil {
		return err
	}
	return newAccount(ctx, c)
}

// planStack is what "go run ./account plan" and the tests run: the same program on the
// offline engine.
func planStack(project, stack string, raw map[string]string, opts ...offline.Option) (*offline.Plan, error) {
	c, err := loadConfig(project, raw)
	if err != nil {
		return nil, err
	}
	return offline.Run(project, stack, raw, func(ctx *pulumi.Context) error { return newAccount(ctx, c) }, opts...)
}

// awsAccount is the account and partition the stack deploys into.
type awsAccount struct {
	AccountID, Partition string
}

// area is one area's component resource.
type area struct{ pulumi.ResourceState }

// newAccount wires the account: a provider per region, then each area.
func newAccount(ctx *pulumi.Context, c *Config) error {
	tags := pulumi.StringMap{"Project": pulumi.String(project), "ManagedBy": pulumi.String("pulumi")}
	providers := map[string]*aws.Provider{}
	for _, region := range c.Regions() {
		p, err := aws.NewProvider(ctx, region, &aws.ProviderArgs{
			Region:      pulumi.String(region),
			DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: tags},
		})
		if err != nil {
			return err
		}
		providers[region] = p
	}
	home := pulumi.Provider(providers[c.Region])
	identity, err := aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{}, home)
	if err != nil {
		return fmt.Errorf("looking up the AWS account: %w", err)
	}
	partition, err := aws.GetPartition(ctx, &aws.GetPartitionArgs{}, home)
	if err != nil {
		return fmt.Errorf("looking up the AWS partition: %w", err)
	}
	account := awsAccount{AccountID: identity.AccountId, Partition: partition.Partition}

	// Each area is a component, so that a preview reads as a tree of them.
	areas := map[string]*area{}
	for _, a := range []struct{ typ, name string }{
		{"GitHubAccess", "github"}, {"Guardrails", "guardrails"}, {"AccountSettings", "settings"}, {"Budgets", "budgets"}, {"StateBackend", "state"},
	} {
		areas[a.typ] = &area{}
		if err := ctx.RegisterComponentResource("coldchain-account:index:"+a.typ, a.name, areas[a.typ]); err != nil {
			return err
		}
	}
	in := func(name string) pulumi.ResourceOption { return pulumi.Parent(areas[name]) }
	backend, err := newStateBackend(ctx, c, account, home, in("StateBackend"))
	if err != nil {
		return err
	}
	roles, err := newGitHubAccess(ctx, c, account, backend, home, in("GitHubAccess"))
	if err != nil {
		return err
	}
	if err := newGuardrails(ctx, c, account, providers, in("Guardrails")); err != nil {
		return err
	}
	if err := newRegionSingletons(ctx, c, account, providers, in("AccountSettings")); err != nil {
		return err
	}
	if err := newBudgets(ctx, c, home, in("Budgets")); err != nil {
		return err
	}
	for _, a := range areas {
		if err := ctx.RegisterResourceOutputs(a, pulumi.Map{}); err != nil {
			return err
		}
	}

	out := pulumi.Map{}
	for stack, byPurpose := range roles {
		m := pulumi.Map{}
		for purpose, arn := range byPurpose {
			m[purpose] = arn
		}
		out[stack] = m
	}
	ctx.Export("githubRoleArns", out)
	if backend != nil {
		ctx.Export("stateBackendUrl", backend.url)
		ctx.Export("secretsProvider", backend.secretsProvider)
	}
	return nil
}
