package main

import (
	"bytes"
	"coldchain/internal/change"
	"coldchain/internal/guard"
	"coldchain/internal/offline"
	"coldchain/internal/schema"
	"coldchain/internal/workflows"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The account stacks as shipped: one account for both application stacks, or one each.
var accountStacks = []string{"shared", "production", "staging"}

func planOf(t *testing.T, stack string, sets ...string) *offline.Plan {
	t.Helper()
	raw, err := offline.StackConfig(".", project, stack, sets)
	require.NoError(t, err)
	p, err := planStack(project, stack, raw)
	require.NoError(t, err)
	return p
}

type policy struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal map[string]any
		Action    []string
		Resource  []string
		Condition map[string]map[string]any
	}
}

func parse(t *testing.T, doc string) policy {
	t.Helper()
	var p policy
	require.NoError(t, json.Unmarshal([]byte(doc), &p), doc)
	return p
}

// TestTheRolesTrustExactlyTheSubjectsTheWorkflowsPresent derives, from the repository's
// workflows, the subject of the token every job that assumes a role presents, and checks that
// the shipped account stacks have a role for each one and no other, each trusting one subject
// of the configured repository, for STS, through the account's GitHub provider.
func TestTheRolesTrustExactlyTheSubjectsTheWorkflowsPresent(t *testing.T) {
	t.Parallel()
	flows, err := workflows.Read("..")
	require.NoError(t, err)
	want, err := workflows.Subjects(flows)
	require.NoError(t, err)

	for _, layout := range [][]string{{"shared"}, {"production", "staging"}} {
		var got []string
		for _, stack := range layout {
			p := planOf(t, stack)
			provider := p.One(t, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github")
			assert.Equal(t, "https://token.actions.githubusercontent.com", provider.In("url"))
			assert.Equal(t, []any{"sts.amazonaws.com"}, provider.List("clientIdLists"))
			for _, role := range p.All("aws:iam/role:Role") {
				trust := parse(t, role.In("assumeRolePolicy"))
				require.Lenf(t, trust.Statement, 1, "%s", role.Name)
				s := trust.Statement[0]
				assert.Equal(t, "Allow", s.Effect)
				assert.Equal(t, []string{"sts:AssumeRoleWithWebIdentity"}, s.Action)
				assert.Equal(t, map[string]any{"Federated": provider.Outputs["arn"]}, s.Principal)
				require.Equalf(t, []string{"StringEquals"}, slices.Sorted(maps.Keys(s.Condition)), "%s: exact matches only, no StringLike", role.Name)
				cond := s.Condition["StringEquals"]
				assert.Equal(t, "sts.amazonaws.com", cond["token.actions.githubusercontent.com:aud"])
				sub, _ := cond["token.actions.githubusercontent.com:sub"].(string)
				subject, ok := strings.CutPrefix(sub, "repo:example-org/coldchain-infrastructure:")
				require.Truef(t, ok, "%s trusts %q", role.Name, sub)
				got = append(got, subject)
			}
		}
		slices.Sort(got)
		assert.Equalf(t, want, slices.Compact(got), "the subjects of the account stacks %v", layout)
		assert.Equalf(t, len(got), len(slices.Compact(slices.Clone(got))), "one role a subject in %v", layout)
	}
}

// serviceOf is the IAM service of a resource type the application stacks plan: what the
// deployment role must allow to create, update and delete it. "" for what is no AWS resource.
func serviceOf(typ string) (string, bool) {
	switch {
	case strings.HasPrefix(typ, "pulumi:"), strings.HasPrefix(typ, "coldchain:"), strings.HasPrefix(typ, "awsx:"),
		strings.HasPrefix(typ, "random:"):
		return "", true
	}
	module, _, ok := strings.Cut(strings.TrimPrefix(typ, "aws:"), "/")
	if !ok {
		return "", false
	}
	byType := map[string]string{
		"aws:cloudwatch/logGroup:LogGroup": "logs", "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "logs",
		"aws:cloudwatch/eventRule:EventRule": "events", "aws:cloudwatch/eventTarget:EventTarget": "events",
	}
	if svc, ok := byType[typ]; ok {
		return svc, true
	}
	byModule := map[string]string{
		"acm": "acm", "appautoscaling": "application-autoscaling", "cloudwatch": "cloudwatch", "ec2": "ec2", "vpc": "ec2",
		"ecr": "ecr", "ecs": "ecs", "elasticache": "elasticache", "iam": "iam", "kms": "kms", "lb": "elasticloadbalancing",
		"rds": "rds", "route53": "route53", "s3": "s3", "secretsmanager": "secretsmanager", "sfn": "states", "sns": "sns",
		"wafv2": "wafv2",
	}
	svc, ok := byModule[module]
	return svc, ok
}

// TestDeploymentRolesCoverEveryTypeTheStacksPlan: every resource type any application stack
// has planned (the URN lists the application's tests keep) is one whose service the deployment
// role allows.
func TestDeploymentRolesCoverEveryTypeTheStacksPlan(t *testing.T) {
	t.Parallel()
	lists, err := filepath.Glob("../testdata/urns-*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, lists)
	types := map[string]bool{}
	for _, list := range lists {
		data, err := os.ReadFile(list)
		require.NoError(t, err)
		for _, urn := range strings.Fields(string(data)) {
			parts := strings.Split(urn, "::")
			chain := strings.Split(parts[len(parts)-2], "$")
			types[chain[len(chain)-1]] = true
		}
	}
	p := planOf(t, "shared")
	allowed := map[string]bool{}
	for _, s := range parse(t, p.One(t, "aws:iam/rolePolicy:RolePolicy", "production-deploy").In("policy")).Statement {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Action {
			if svc, action, _ := strings.Cut(a, ":"); action == "*" || strings.HasPrefix(action, "Create") {
				allowed[svc] = true
			}
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		svc, known := serviceOf(typ)
		if !assert.Truef(t, known, "the application plans %s, whose IAM service this test does not know: add it to serviceOf", typ) || svc == "" {
			continue
		}
		assert.Truef(t, allowed[svc], "the application plans %s, but its deployment role may not create %s resources", typ, svc)
	}
}

// TestNoWildcardBeyondTheDocumentedOnes: a deployment role acts on every resource of a service
// only for the services docs/account.md names, and on its stack's names for the others; the
// reads of the account are named one by one.
func TestNoWildcardBeyondTheDocumentedOnes(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/account.md")
	require.NoError(t, err)
	for _, stack := range accountStacks {
		p := planOf(t, stack)
		raw, err := offline.StackConfig(".", project, stack, nil)
		require.NoError(t, err)
		c, err := loadConfig(project, raw)
		require.NoError(t, err)
		for _, rp := range p.All("aws:iam/rolePolicy:RolePolicy") {
			if !strings.HasSuffix(rp.Name, "-deploy") {
				continue
			}
			i := slices.IndexFunc(c.Stacks, func(s AppStack) bool { return s.Name+"-deploy" == rp.Name })
			require.GreaterOrEqual(t, i, 0)
			names := slices.Concat([]string{c.Stacks[i].Prefix}, c.Stacks[i].Repositories, c.Stacks[i].Buckets, c.Stacks[i].LogGroups)
			for _, s := range parse(t, rp.In("policy")).Statement {
				for _, r := range s.Resource {
					switch {
					case r == "*" && s.Sid == "CallsOnTheAccount":
						for _, a := range s.Action {
							assert.NotContainsf(t, a, "*", "%s: a read of the account is named: %s", rp.Name, a)
						}
					case r == "*" && s.Effect == "Deny":
					case r == "*":
						assert.Equal(t, "TheStacksOtherServices", s.Sid)
						for _, a := range s.Action {
							svc := strings.TrimSuffix(a, ":*")
							assert.Containsf(t, unscopedServices, svc, "%s: %s on every resource", rp.Name, a)
							assert.Containsf(t, string(doc), "`"+svc+"`", "docs/account.md does not name %s among the services a deployment role has whole", svc)
						}
					case strings.HasPrefix(s.Sid, "State"):
						assert.Truef(t, strings.Contains(r, "coldchain-pulumi-state-") || strings.Contains(r, ":kms:"), "%s: %s is the state backend's", rp.Name, r)
					case s.Effect == "Allow" && !strings.Contains(r, ":iam::"):
						assert.Truef(t, slices.ContainsFunc(names, func(n string) bool { return strings.Contains(r, n) }),
							"%s: %s is the stack's (its prefix, or a name it lists)", rp.Name, r)
					}
				}
			}
		}
	}
}

// TestADeploymentCannotWidenItsOwnRights: a deployment role manages the stack's roles, but not
// the account stack's (its own included) or the OIDC provider; every role it creates or writes
// a policy into carries the stack's boundary, which allows what the application's roles need and
// no IAM at all; it rewrites no role's trust; and it passes roles only to the services the
// stack's roles serve.
func TestADeploymentCannotWidenItsOwnRights(t *testing.T) {
	t.Parallel()
	p := planOf(t, "shared")
	boundary := p.One(t, "aws:iam/policy:Policy", "production-role-boundary")
	assert.Equal(t, "coldchain-production-role-boundary", boundary.In("name"))
	assert.True(t, boundary.Protect)
	assert.NotContains(t, boundary.In("policy"), "iam:", "a bounded role can do nothing in IAM")
	assert.NotContains(t, boundary.In("policy"), "sts:")
	deploy := parse(t, p.One(t, "aws:iam/rolePolicy:RolePolicy", "production-deploy").In("policy"))
	var deny, pass, bounded, noTrust bool
	for _, s := range deploy.Statement {
		switch {
		case s.Sid == "BoundedRoles":
			bounded = true
			assert.ElementsMatch(t, []string{"iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"}, s.Action)
			assert.Equal(t, "arn:aws:iam::123456789012:policy/coldchain-production-role-boundary", s.Condition["StringEquals"]["iam:PermissionsBoundary"])
		case s.Sid == "NoTrustRewrites":
			noTrust = true
			assert.Equal(t, "Deny", s.Effect)
			assert.ElementsMatch(t, []string{"iam:UpdateAssumeRolePolicy", "iam:DeleteRolePermissionsBoundary"}, s.Action)
		case s.Effect == "Allow":
			for _, a := range s.Action {
				assert.NotContainsf(t, []string{"iam:CreateRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy"}, a,
					"%s: %s without the boundary's condition", s.Sid, a)
			}
		}
		if s.Sid == "NotTheAccountsOwn" {
			deny = true
			assert.Equal(t, []string{"iam:*"}, s.Action)
			assert.Equal(t, []string{"arn:aws:iam::123456789012:role/*-github-*", "arn:aws:iam::123456789012:oidc-provider/*"}, s.Resource)
			for _, role := range p.All("aws:iam/role:Role") {
				assert.Truef(t, strings.Contains(role.In("name"), "-github-"), "the deny covers %s", role.In("name"))
			}
		}
		if slices.Contains(s.Action, "iam:PassRole") {
			pass = true
			assert.NotEmpty(t, s.Condition["StringEquals"]["iam:PassedToService"])
		}
		for _, a := range s.Action {
			if s.Effect == "Allow" && strings.HasPrefix(a, "iam:") {
				assert.NotEqualf(t, "iam:*", a, "%s", s.Sid)
				assert.NotContainsf(t, []string{"iam:CreatePolicy", "iam:AttachRolePolicy", "iam:CreateUser", "iam:CreateAccessKey"}, a, "%s", s.Sid)
			}
		}
	}
	assert.True(t, deny, "the deny of the account's own")
	assert.True(t, pass, "the pass of the stack's roles")
	assert.True(t, bounded, "the roles it makes are bounded")
	assert.True(t, noTrust, "no trust is rewritten")
}

// TestThePreviewRoleReadsWhatAPreviewReadsAndNotTheStacksData: ReadOnlyAccess, the one
// non-read call a preview makes, and the deny of the stacks' data that docs/ci.md lists.
func TestThePreviewRoleReadsWhatAPreviewReadsAndNotTheStacksData(t *testing.T) {
	t.Parallel()
	ci, err := os.ReadFile("../docs/ci.md")
	require.NoError(t, err)
	p := planOf(t, "shared")
	for _, stack := range []string{"staging", "production"} {
		assert.Equal(t, "arn:aws:iam::aws:policy/ReadOnlyAccess", p.One(t, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", stack+"-preview-read-only").In("policyArn"))
		doc := parse(t, p.One(t, "aws:iam/rolePolicy:RolePolicy", stack+"-preview").In("policy"))
		require.Len(t, doc.Statement, 2)
		assert.Equal(t, []string{"states:ValidateStateMachineDefinition"}, doc.Statement[0].Action)
		assert.Equal(t, "Deny", doc.Statement[1].Effect)
		for _, a := range doc.Statement[1].Action {
			assert.Containsf(t, string(ci), "`"+a+"`", "docs/ci.md's deny list does not name %s", a)
		}
		for _, a := range []string{"secretsmanager:GetSecretValue", "s3:GetObject*", "logs:GetLogEvents", "kms:Decrypt"} {
			assert.Contains(t, doc.Statement[1].Action, a)
		}
	}
}

// TestWhatMustNotBeDeletedIsProtected: the provider and the roles the workflows depend on are
// protected, the state backend is protected and outlives the stack, the settings the
// application stacks rely on outlive it, and every once-per-account resource is deleted before
// its replacement.
func TestWhatMustNotBeDeletedIsProtected(t *testing.T) {
	t.Parallel()
	p := planOf(t, "staging")
	assert.True(t, p.One(t, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github").Protect)
	for _, role := range p.All("aws:iam/role:Role") {
		assert.Truef(t, role.Protect, "%s", role.Name)
	}
	for _, typ := range []string{"aws:kms/key:Key", "aws:s3/bucketV2:BucketV2"} {
		r := p.One(t, typ, "state")
		assert.Truef(t, r.Protect && r.RetainOnDelete, "%s state", typ)
	}
	assert.Equal(t, 30.0, p.One(t, "aws:kms/key:Key", "state").Num("deletionWindowInDays"))
	assert.True(t, p.One(t, "aws:kms/key:Key", "state").Flag("enableKeyRotation"))
	shared := planOf(t, "shared")
	for _, r := range append(shared.All("aws:ecr/replicationConfiguration:ReplicationConfiguration"), shared.All("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")...) {
		assert.Truef(t, r.RetainOnDelete && r.DeleteBeforeReplace, "%s", r.Name)
	}
	// What exists once per account (and region), by the schema table every change preview
	// reads: a replacement created first would collide with the old one, or be undone by its
	// delete.
	later := planOf(t, "shared", "activateCostTags=true")
	var once int
	for _, r := range later.Resources {
		typ, known := schema.Lookup(r.Type)
		if !r.Custom || strings.HasPrefix(r.Type, "pulumi:") {
			continue
		}
		require.Truef(t, known, "%s is not in internal/schema's table: add what replaces it", r.Type)
		if typ.AccountWide && len(typ.Replaces) > 0 { // what nothing replaces needs no order
			once++
			assert.Truef(t, r.DeleteBeforeReplace, "%s %s exists once per account: deleted before its replacement", r.Type, r.Name)
		}
	}
	assert.Equal(t, 10, once, "the provider, the config role, the public access block, the log policy; Security Hub, the recorder and its channel in each of the two regions")
}

// TestTheAccountsSettingsCoverEveryStackOfTheAccount: the registry replicates each stack's
// repositories to its DR region, and the WAF log policy exists where a stack has a firewall; a
// staging account has neither.
func TestTheAccountsSettingsCoverEveryStackOfTheAccount(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"shared", "production"} {
		p := planOf(t, stack)
		images := p.One(t, "aws:ecr/replicationConfiguration:ReplicationConfiguration", "images-ap-northeast-2")
		assert.Equal(t, []any{map[string]any{
			"destinations":      []any{map[string]any{"region": "ap-northeast-1", "registryId": "123456789012"}},
			"repositoryFilters": []any{map[string]any{"filter": "coldchain-production/", "filterType": "PREFIX_MATCH"}},
		}}, images.Obj("replicationConfiguration")["rules"])
		waf := p.One(t, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "waf-logs-ap-northeast-2")
		assert.Equal(t, "AWSWAF-LOGS", waf.In("policyName"))
		doc := parse(t, waf.In("policyDocument"))
		assert.Equal(t, []string{"arn:aws:logs:ap-northeast-2:123456789012:log-group:aws-waf-logs-*:log-stream:*",
			"arn:aws:logs:ap-northeast-2:123456789012:log-group:/aws/elasticache/*:log-stream:*"}, doc.Statement[0].Resource)
		assert.Equal(t, "123456789012", doc.Statement[0].Condition["StringEquals"]["aws:SourceAccount"])
	}
	staging := planOf(t, "staging")
	assert.Empty(t, staging.All("aws:ecr/replicationConfiguration:ReplicationConfiguration"), "staging has no DR region")
	assert.NotNil(t, staging.Find("aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "waf-logs-ap-northeast-2"), "staging's cache delivers its logs through it")
	assert.Nil(t, planOf(t, "production").Find("aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "waf-logs-ap-northeast-1"),
		"no stack runs in the DR region: nothing delivers logs there")
}

// TestSecurityHubRunsTheFoundationalStandardOverAWSConfig: in every region of the stacks,
// Security Hub with the Foundational Security Best Practices standard only, AWS Config recording
// everything (IAM once, in the home region) into the account's config bucket; the analyzer; S3's
// public access blocked account-wide.
func TestSecurityHubRunsTheFoundationalStandardOverAWSConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, "shared", `stacks=[{"name":"staging","prefix":"coldchain-staging","environment":"staging","region":"eu-central-1","monthlyBudgetUsd":180}]`)
	for _, region := range []string{"ap-northeast-2", "eu-central-1"} {
		hub := p.One(t, "aws:securityhub/account:Account", "security-hub-"+region)
		assert.Equal(t, false, hub.Inputs["enableDefaultStandards"])
		assert.Equal(t, "arn:aws:securityhub:"+region+"::standards/aws-foundational-security-best-practices/v/1.0.0",
			p.One(t, "aws:securityhub/standardsSubscription:StandardsSubscription", "fsbp-"+region).In("standardsArn"))
		group := p.One(t, "aws:cfg/recorder:Recorder", "recorder-"+region).Obj("recordingGroup")
		assert.Equal(t, true, group["allSupported"])
		assert.Equal(t, region == "ap-northeast-2", group["includeGlobalResourceTypes"], "IAM recorded once, in the home region")
		assert.Equal(t, p.One(t, "aws:s3/bucketV2:BucketV2", "config").In("bucket"), p.One(t, "aws:cfg/deliveryChannel:DeliveryChannel", "delivery-"+region).In("s3BucketName"))
		assert.Equal(t, true, p.One(t, "aws:cfg/recorderStatus:RecorderStatus", "recording-"+region).Inputs["isEnabled"])
		assert.Equal(t, "ACCOUNT", p.One(t, "aws:accessanalyzer/analyzer:Analyzer", "analyzer-"+region).In("type"))
	}
	block := p.One(t, "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "account")
	for _, k := range []string{"blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"} {
		assert.Equalf(t, true, block.Inputs[k], "%s", k)
	}
	bucketPolicy := parse(t, p.One(t, "aws:s3/bucketPolicy:BucketPolicy", "config").In("policy"))
	assert.Equal(t, "TLSOnly", bucketPolicy.Statement[0].Sid)
	assert.Equal(t, []string{"arn:aws:s3:::coldchain-account-config-123456789012/AWSLogs/123456789012/Config/*"}, bucketPolicy.Statement[2].Resource)

	off := planOf(t, "shared", "securityHub=false")
	assert.Empty(t, off.All("aws:securityhub/account:Account"))
	assert.Empty(t, off.All("aws:cfg/recorder:Recorder"))
	assert.NotEmpty(t, off.All("aws:accessanalyzer/analyzer:Analyzer"))
}

// TestEachStackHasABudgetOnItsTaggedCosts: the stack's budget, on the costs tagged with its
// environment, alerting the alarm address at 80% and 100% of the actual costs and 100% of the
// forecast.
func TestEachStackHasABudgetOnItsTaggedCosts(t *testing.T) {
	t.Parallel()
	p := planOf(t, "shared")
	b := p.One(t, "aws:budgets/budget:Budget", "production")
	assert.Equal(t, "740.00", b.In("limitAmount"))
	assert.Equal(t, "MONTHLY", b.In("timeUnit"))
	assert.Equal(t, []any{map[string]any{"name": "TagKeyValue", "values": []any{"user:Environment$production"}}}, b.List("costFilters"))
	var kinds []string
	for _, n := range b.List("notifications") {
		m := n.(map[string]any)
		assert.Equal(t, []any{"alerts@example.com"}, m["subscriberEmailAddresses"])
		kinds = append(kinds, m["notificationType"].(string)+" "+strings.TrimSuffix(strings.TrimSuffix(jsonNumber(m["threshold"]), ".0"), ".00"))
	}
	assert.Equal(t, []string{"ACTUAL 80", "ACTUAL 100", "FORECASTED 100"}, kinds)
	// An empty account's billing has seen no tag yet: the tags are activated once it has.
	assert.Empty(t, p.All("aws:costexplorer/costAllocationTag:CostAllocationTag"))
	later := planOf(t, "shared", "activateCostTags=true")
	for _, key := range []string{"Project", "Environment"} {
		assert.Equal(t, "Active", later.One(t, "aws:costexplorer/costAllocationTag:CostAllocationTag", key).In("status"))
	}
	assert.Len(t, later.One(t, "aws:budgets/budget:Budget", "production").DependsOn, 2, "the budgets wait for the tags")
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBadAccountConfigIsRefusedNamingTheKey: every bad value is reported with its key, before
// any resource is registered.
func TestBadAccountConfigIsRefusedNamingTheKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ set, key string }{
		{"githubRepository=coldchain", "githubRepository"},
		{"alarmEmail=nobody", "alarmEmail"},
		{"aws:region=seoul", "aws:region"},
		{"stacks=[]", "stacks"},
		{"stacks=production", "stacks"},
		{`stacks=[{"name":"production","prefix":"Coldchain_Production","environment":"production","region":"ap-northeast-2","monthlyBudgetUsd":740}]`, "stacks[0].prefix"},
		{`stacks=[{"name":"production","prefix":"coldchain-production","environment":"prod","region":"ap-northeast-2","monthlyBudgetUsd":740}]`, "stacks[0].environment"},
		{`stacks=[{"name":"production","prefix":"coldchain-production","environment":"production","region":"ap-northeast-2","drRegion":"ap-northeast-2","monthlyBudgetUsd":740}]`, "stacks[0].drRegion"},
		{`stacks=[{"name":"production","prefix":"coldchain-production","environment":"production","region":"ap-northeast-2"}]`, "stacks[0].monthlyBudgetUsd"},
		{`stacks=[{"name":"a","prefix":"x-a","environment":"a","region":"ap-northeast-2","monthlyBudgetUsd":1},{"name":"a","prefix":"x-a","environment":"a","region":"ap-northeast-2","monthlyBudgetUsd":1}]`, "stacks[1].name"},
		{"securityHub=yes", "securityHub"},
		{"stateBackedn=true", "stateBackedn"},
	} {
		raw, err := offline.StackConfig(".", project, "shared", []string{tc.set})
		require.NoError(t, err)
		_, err = planStack(project, "shared", raw)
		var cfgErr *ConfigError
		if assert.ErrorAsf(t, err, &cfgErr, "%s", tc.set) {
			assert.Containsf(t, err.Error(), "\n  "+tc.key+" = ", "%s: %v", tc.set, err)
		}
	}
}

// TestThePlanCommandPlansTheAccountFromTheRepositorysRoot: "go run ./account plan" as README
// gives it, run from the repository's root.
func TestThePlanCommandPlansTheAccountFromTheRepositorysRoot(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.NoError(t, os.Chdir(".."))
	defer func() { require.NoError(t, os.Chdir(wd)) }()
	var stdout, stderr bytes.Buffer
	for _, stack := range accountStacks {
		stdout.Reset()
		code := command([]string{"plan", "--stack", stack}, &stdout, &stderr)
		require.Equalf(t, 0, code, "%s: %s", stack, stderr.String())
		assert.Contains(t, stdout.String(), "Plan of coldchain-account/"+stack)
	}
}

// TestTheRolesReachTheStateBackendOfTheirAccount: with the self-managed backend, a deployment
// reads and writes the state and encrypts with its key; a preview reads it, and the deny of the
// stacks' data spares the state's objects and key alone. Without it, no role names it.
func TestTheRolesReachTheStateBackendOfTheirAccount(t *testing.T) {
	t.Parallel()
	p := planOf(t, "staging")
	bucket := "arn:aws:s3:::" + p.One(t, "aws:s3/bucketV2:BucketV2", "state").In("bucket")
	key := p.One(t, "aws:kms/key:Key", "state").Outputs["arn"].(string)
	bySid := func(doc policy) map[string][]string {
		out := map[string][]string{}
		for _, s := range doc.Statement {
			out[s.Sid] = append(s.Action, s.Resource...)
		}
		return out
	}
	deploy := bySid(parse(t, p.One(t, "aws:iam/rolePolicy:RolePolicy", "staging-deploy").In("policy")))
	assert.Equal(t, []string{"s3:PutObject", "s3:DeleteObject", bucket + "/*"}, deploy["StateWrite"])
	assert.Equal(t, []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", key}, deploy["StateKey"])
	assert.Contains(t, deploy["StateKeyKept"], "kms:ScheduleKeyDeletion")
	assert.Contains(t, deploy["StateKeyKept"], key, "the key itself, not every key")
	preview := bySid(parse(t, p.One(t, "aws:iam/rolePolicy:RolePolicy", "staging-preview").In("policy")))
	assert.NotContains(t, preview, "StateWrite", "a preview takes no lock in a self-managed backend")
	assert.Equal(t, []string{"kms:Decrypt", key}, preview["StateKey"])
	assert.Equal(t, []string{"s3:GetObject", bucket + "/*"}, preview["StateRead"])
	var raw struct{ Statement []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(p.One(t, "aws:iam/rolePolicy:RolePolicy", "staging-preview").In("policy")), &raw))
	var deny map[string]any
	for _, s := range raw.Statement {
		if s["Effect"] == "Deny" {
			deny = s
		}
	}
	require.NotNil(t, deny)
	assert.NotContains(t, deny, "Resource")
	assert.Equal(t, []any{bucket + "/*", key}, deny["NotResource"], "every other key and object stays denied")

	shared := planOf(t, "shared")
	for _, rp := range shared.All("aws:iam/rolePolicy:RolePolicy") {
		assert.NotContainsf(t, rp.In("policy"), "pulumi-state", "%s: no state backend in this account", rp.Name)
	}
	assert.Equal(t, 14400.0, shared.One(t, "aws:iam/role:Role", "production-deploy").Num("maxSessionDuration"), "a first deploy outlasts an hour")
	assert.Equal(t, 3600.0, shared.One(t, "aws:iam/role:Role", "production-preview").Num("maxSessionDuration"))
}

// TestRolePoliciesFitIAMsLimit: IAM takes at most 10,240 characters of inline policies a role
// (white space not counted); a deployment role's policy grows with nothing but its stack's
// prefix.
func TestRolePoliciesFitIAMsLimit(t *testing.T) {
	t.Parallel()
	for _, stack := range accountStacks {
		p := planOf(t, stack)
		for _, rp := range p.All("aws:iam/rolePolicy:RolePolicy") {
			assert.LessOrEqualf(t, len(strings.Join(strings.Fields(rp.In("policy")), "")), 10240, "%s/%s", stack, rp.Name)
		}
	}
}

// TestTheAccountDocReadsOnlyWhatTheAccountStackExports: every "pulumi stack output NAME" of
// docs/account.md is an output of the account stack that has the state backend.
func TestTheAccountDocReadsOnlyWhatTheAccountStackExports(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/account.md")
	require.NoError(t, err)
	outputs := planOf(t, "staging").Outputs
	reads := regexp.MustCompile(`pulumi stack output ([a-zA-Z]+)`).FindAllStringSubmatch(string(doc), -1)
	require.NotEmpty(t, reads)
	for _, m := range reads {
		assert.Containsf(t, outputs, m[1], "docs/account.md reads the output %s", m[1])
	}
	assert.Contains(t, string(doc), "`githubRoleArns`")
	assert.Contains(t, outputs, "githubRoleArns")
	assert.Equal(t, "s3://coldchain-pulumi-state-123456789012?region=ap-northeast-2", outputs["stateBackendUrl"])
	assert.Equal(t, "awskms://alias/coldchain-pulumi-state?region=ap-northeast-2", outputs["secretsProvider"])
}

// TestTheAccountStacksHoldEveryGuardRule: the account rules (ACCT-*), which the policy pack
// runs on the account stack as on the application's, find nothing in any shipped account
// stack; the application's rules pass it by.
func TestTheAccountStacksHoldEveryGuardRule(t *testing.T) {
	t.Parallel()
	for _, stack := range accountStacks {
		p := planOf(t, stack)
		for _, r := range guard.Rules() {
			assert.Emptyf(t, r.Check(p), "%s: %s", stack, r.ID)
		}
	}
}

// TestTheAccountRulesCatchViolations breaks each account rule's guarantee in a copy of the
// shared account's plan.
func TestTheAccountRulesCatchViolations(t *testing.T) {
	t.Parallel()
	base := planOf(t, "staging")
	edit := func(p *offline.Plan, typ, name, key string, change func(doc map[string]any)) {
		r := p.One(t, typ, name)
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.In(key)), &doc))
		change(doc)
		b, _ := json.Marshal(doc)
		r.Inputs[key] = string(b)
	}
	statement := func(doc map[string]any, i int) map[string]any { return doc["Statement"].([]any)[i].(map[string]any) }
	for _, tc := range []struct {
		rule   string
		break_ func(p *offline.Plan)
	}{
		{"ACCT-01", func(p *offline.Plan) {
			edit(p, "aws:iam/role:Role", "staging-deploy", "assumeRolePolicy", func(d map[string]any) {
				statement(d, 0)["Condition"] = map[string]any{"StringLike": map[string]any{
					"token.actions.githubusercontent.com:sub": "repo:example-org/coldchain-infrastructure:*",
					"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
			})
		}},
		{"ACCT-01", func(p *offline.Plan) {
			edit(p, "aws:iam/role:Role", "staging-preview", "assumeRolePolicy", func(d map[string]any) {
				delete(statement(d, 0)["Condition"].(map[string]any)["StringEquals"].(map[string]any), "token.actions.githubusercontent.com:aud")
			})
		}},
		{"ACCT-02", func(p *offline.Plan) {
			edit(p, "aws:iam/rolePolicy:RolePolicy", "staging-deploy", "policy", func(d map[string]any) {
				d["Statement"] = slices.DeleteFunc(d["Statement"].([]any), func(s any) bool { return s.(map[string]any)["Effect"] == "Deny" })
			})
		}},
		{"ACCT-02", func(p *offline.Plan) {
			edit(p, "aws:iam/rolePolicy:RolePolicy", "staging-deploy", "policy", func(d map[string]any) {
				statement(d, 0)["Action"] = append(statement(d, 0)["Action"].([]any), "iam:CreateAccessKey")
			})
		}},
		{"ACCT-02", func(p *offline.Plan) {
			edit(p, "aws:iam/rolePolicy:RolePolicy", "staging-deploy", "policy", func(d map[string]any) {
				for _, s := range d["Statement"].([]any) {
					if s.(map[string]any)["Sid"] == "BoundedRoles" {
						delete(s.(map[string]any), "Condition")
					}
				}
			})
		}},
		{"ACCT-02", func(p *offline.Plan) {
			edit(p, "aws:iam/rolePolicy:RolePolicy", "staging-deploy", "policy", func(d map[string]any) {
				d["Statement"] = slices.DeleteFunc(d["Statement"].([]any), func(s any) bool { return s.(map[string]any)["Sid"] == "NoTrustRewrites" })
			})
		}},
		{"ACCT-03", func(p *offline.Plan) {
			edit(p, "aws:iam/rolePolicy:RolePolicy", "staging-preview", "policy", func(d map[string]any) {
				deny := statement(d, 1)
				deny["Action"] = slices.DeleteFunc(deny["Action"].([]any), func(a any) bool { return a == "secretsmanager:GetSecretValue" })
			})
		}},
		{"ACCT-04", func(p *offline.Plan) {
			p.One(t, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github").Protect = false
		}},
		{"ACCT-04", func(p *offline.Plan) { p.One(t, "aws:s3/bucketV2:BucketV2", "state").Protect = false }},
	} {
		broken, err := base.Clone()
		require.NoError(t, err)
		tc.break_(broken)
		rule := guard.Find(tc.rule)
		assert.NotEmptyf(t, rule.Check(broken), "%s does not notice its violation", tc.rule)
		assert.Emptyf(t, rule.Check(base), "%s flags the unbroken plan", tc.rule)
	}
}

// TestAnAdoptedEstatesNamesAreTheStacksToo: names an adopted estate keeps, which the stack's
// prefix does not start, are listed with the stack: its deployment role may manage them, and
// the registry replicates its repositories.
func TestAnAdoptedEstatesNamesAreTheStacksToo(t *testing.T) {
	t.Parallel()
	p := planOf(t, "production", `stacks=[{"name":"production","prefix":"coldchain-production","environment":"production",
		"region":"ap-northeast-2","drRegion":"ap-northeast-1","waf":true,"previewEnvironment":"production-preview","monthlyBudgetUsd":740,
		"repositories":["coldchain-backend","coldchain-frontend"],"buckets":["coldchain-prod-"],"logGroups":["/aws/vpc/coldchain-production-flow-logs"]}]`)
	resources := map[string][]string{}
	for _, s := range parse(t, p.One(t, "aws:iam/rolePolicy:RolePolicy", "production-deploy").In("policy")).Statement {
		resources[s.Sid] = s.Resource
	}
	assert.Contains(t, resources["TheStacksEcr"], "arn:aws:ecr:*:123456789012:repository/coldchain-backend*")
	assert.Contains(t, resources["TheStacksS3"], "arn:aws:s3:::coldchain-prod-*/*")
	assert.Contains(t, resources["TheStacksLogs"], "arn:aws:logs:*:123456789012:log-group:/aws/vpc/coldchain-production-flow-logs*")
	rules := p.One(t, "aws:ecr/replicationConfiguration:ReplicationConfiguration", "images-ap-northeast-2").Obj("replicationConfiguration")["rules"].([]any)
	var filters []string
	for _, f := range rules[0].(map[string]any)["repositoryFilters"].([]any) {
		filters = append(filters, f.(map[string]any)["filter"].(string))
	}
	assert.Equal(t, []string{"coldchain-backend", "coldchain-frontend", "coldchain-production/"}, filters)

	raw, err := offline.StackConfig(".", project, "production", []string{`stacks=[{"name":"production","prefix":"coldchain-production",
		"environment":"production","region":"ap-northeast-2","monthlyBudgetUsd":740,"buckets":["*"]}]`})
	require.NoError(t, err)
	_, err = planStack(project, "production", raw)
	assert.ErrorContains(t, err, "stacks[0].buckets = \"*\"")
}

// TestTheAccountsEverydayChangesReplaceNothing: the changes a team makes to an account stack
// as its application grows (a new stack, a firewall, an adopted estate's names, the cost tags
// once billing has seen them) create and update, and replace or delete nothing: its roles, its
// provider and its settings stay what the workflows and the stacks rely on.
func TestTheAccountsEverydayChangesReplaceNothing(t *testing.T) {
	t.Parallel()
	before := planOf(t, "shared")
	const stacks = `stacks=[{"name":"staging","prefix":"coldchain-staging","environment":"staging","region":"ap-northeast-2","waf":true,"monthlyBudgetUsd":190},
		{"name":"production","prefix":"coldchain-production","environment":"production","region":"ap-northeast-2","drRegion":"ap-northeast-1","waf":true,
		 "previewEnvironment":"production-preview","monthlyBudgetUsd":740,"repositories":["coldchain-backend"]},
		{"name":"rehearsal","prefix":"coldchain-rehearsal","environment":"rehearsal","region":"ap-northeast-1","monthlyBudgetUsd":200}]`
	for _, sets := range [][]string{{"activateCostTags=true"}, {stacks}, {"alarmEmail=oncall@example.com"}} {
		after := planOf(t, "shared", sets...)
		preview := change.Compute(before, after)
		var changed int
		for _, s := range preview.Steps {
			assert.NotContainsf(t, []string{change.OpReplace, change.OpDelete}, s.Op, "%v: %s %s (%v)", sets, s.Op, s.URN, s.ReplaceReasons)
			if s.Op != change.OpSame {
				changed++
			}
		}
		assert.Positivef(t, changed, "%v changes something", sets)
	}
}
