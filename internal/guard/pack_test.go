package guard

import (
	"coldchain/internal/plan"
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A small stack as AnalyzeStack shows it: an explicit provider whose configuration the engine
// keeps JSON-encoded, a key, a secret encrypted with it, a subnet and its route table
// association, and the stack with its outputs.
const (
	stack       = "urn:pulumi:production::coldchain::"
	providerURN = stack + "pulumi:providers:aws::aws"
	keyURN      = stack + "aws:kms/key:Key::data"
	secretURN   = stack + "aws:secretsmanager/secret:Secret::api"
	subnetURN   = stack + "aws:ec2/subnet:Subnet::private-1"
	assocURN    = stack + "aws:ec2/routeTableAssociation:RouteTableAssociation::private-1"
	roleURN     = stack + "aws:iam/role:Role::task"
)

func props(t *testing.T, values map[string]any) property.Map {
	t.Helper()
	m := map[string]property.Value{}
	for k, v := range values {
		switch v := v.(type) {
		case property.Value:
			m[k] = v
		default:
			value, err := property.Any(v)
			require.NoError(t, err)
			m[k] = value
		}
	}
	return property.NewMap(m)
}

func smallStack(t *testing.T, preview bool) []policyx.AnalyzerResource {
	computed := property.New(property.Computed)
	known := func(v string) property.Value {
		if preview {
			return computed
		}
		return property.New(v)
	}
	provider := policyx.AnalyzerProviderResource{Type: "pulumi:providers:aws", URN: providerURN, Name: "aws"}
	return []policyx.AnalyzerResource{
		{Type: "pulumi:providers:aws", URN: providerURN, Name: "aws", Properties: props(t, map[string]any{
			"region": "ap-northeast-2", "defaultTags": `{"tags":{"Project":"coldchain"}}`,
		})},
		{Type: "aws:kms/key:Key", URN: keyURN, Name: "data", Provider: provider, Properties: props(t, map[string]any{
			"arn": known("arn:aws:kms:ap-northeast-2:111122223333:key/k-1"), "enableKeyRotation": true,
		})},
		{Type: "aws:secretsmanager/secret:Secret", URN: secretURN, Name: "api", Provider: provider,
			Options:              pulumi.ResourceOptions{Protect: true},
			Properties:           props(t, map[string]any{"kmsKeyId": known("arn:aws:kms:ap-northeast-2:111122223333:key/k-1"), "password": property.New(property.Null)}),
			PropertyDependencies: map[string][]string{"kmsKeyId": {keyURN}}},
		{Type: "aws:ec2/subnet:Subnet", URN: subnetURN, Name: "private-1", Provider: provider, Properties: props(t, map[string]any{
			"cidrBlock": "10.0.0.0/18", "arn": known("arn:aws:ec2:ap-northeast-2:111122223333:subnet/subnet-0abc"),
		})},
		{Type: "aws:ec2/routeTableAssociation:RouteTableAssociation", URN: assocURN, Name: "private-1", Provider: provider,
			Properties:           props(t, map[string]any{"subnetId": known("subnet-0abc")}),
			PropertyDependencies: map[string][]string{"subnetId": {subnetURN}}},
		{Type: "aws:iam/role:Role", URN: roleURN, Name: "task", Provider: provider, Properties: props(t, map[string]any{
			"assumeRolePolicy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}]}`,
			"secret":           property.New("hunter2").WithSecret(true),
		})},
		{Type: "pulumi:pulumi:Stack", URN: stack + "pulumi:pulumi:Stack::coldchain-production", Name: "coldchain-production",
			Properties: props(t, map[string]any{"vpcId": known("vpc-0abc")})},
	}
}

func TestFromAnalyzerAfterAnUp(t *testing.T) {
	p := FromAnalyzer(smallStack(t, false))
	assert.Equal(t, "coldchain", p.Project)
	assert.Equal(t, "production", p.Stack)
	assert.Equal(t, map[string]any{"vpcId": "vpc-0abc"}, p.Outputs, "the stack resource holds the outputs and is no resource of the plan")
	assert.Nil(t, p.ByURN(stack+"pulumi:pulumi:Stack::coldchain-production"))

	provider := p.ByURN(providerURN)
	assert.Equal(t, map[string]any{"tags": map[string]any{"Project": "coldchain"}}, provider.Obj("defaultTags"), "provider configuration is decoded")
	secret := p.ByURN(secretURN)
	assert.Equal(t, providerURN+"::"+provider.ID, secret.Provider, "an explicit provider reference as the program's plan records it")
	assert.True(t, secret.Protect)
	assert.True(t, secret.Custom)
	assert.NotContains(t, secret.Inputs, "password", "null properties are left out")
	assert.Equal(t, plan.SecretPlaceholder, p.ByURN(roleURN).Inputs["secret"], "secret values never reach a rule")
	assert.Equal(t, "subnet-0abc", p.ByURN(subnetURN).ID, "the id the association takes from the subnet alone")
	assert.Equal(t, "arn:aws:kms:ap-northeast-2:111122223333:key/k-1", p.ByURN(keyURN).ID,
		"a key's kmsKeyId references hold its ARN, the only value taken from it: the rules match keys by ARN either way")
	assert.Equal(t, "111122223333", p.Account, "the account of the ARNs")
}

func TestFromAnalyzerInAPreview(t *testing.T) {
	p := FromAnalyzer(smallStack(t, true))
	key, secret := p.ByURN(keyURN), p.ByURN(secretURN)
	assert.Equal(t, plan.UnknownPrefix+keyURN, key.Outputs["arn"], "an output AWS assigns comes from the resource itself")
	assert.Equal(t, key.Outputs["arn"], secret.Inputs["kmsKeyId"], "a reference to the key equals the key's unknown ARN")
	assert.Equal(t, p.ByURN(subnetURN).ID, p.ByURN(assocURN).Inputs["subnetId"])
	assert.Equal(t, plan.UnknownPrefix, p.Outputs["vpcId"], "the engine records no dependencies of the stack's outputs")
	assert.Equal(t, "111122223333", p.Account, "before any ARN is known, the trust policies' account")
	assert.Empty(t, Find("SEC-01").Check(&plan.Plan{Resources: []*plan.PlanResource{key, secret}}),
		"SEC-01 matches the secret's unknown key with the key")
}

func TestAccountPrefersAllowedAccountIds(t *testing.T) {
	resources := smallStack(t, false)
	resources[0].Properties = props(t, map[string]any{"region": "ap-northeast-2", "allowedAccountIds": `["444455556666"]`})
	assert.Equal(t, "444455556666", FromAnalyzer(resources).Account)
}

func TestPackServesEveryRuleTheAnalyzerCanRun(t *testing.T) {
	pack, err := Pack()
	require.NoError(t, err)
	assert.Equal(t, PackName, pack.Name())
	var names []string
	for _, policy := range pack.Policies() {
		names = append(names, policy.Name())
		_, ok := policy.(policyx.StackValidationPolicy)
		assert.Truef(t, ok, "%s is not a stack policy", policy.Name())
		level := policyx.EnforcementLevelMandatory
		if policy.Name() == "DATA-03" {
			level = policyx.EnforcementLevelDisabled
		}
		assert.Equalf(t, level, policy.EnforcementLevel(), "%s's level", policy.Name())
	}
	for _, rule := range Rules() {
		if OfflineOnly[rule.ID] == "" {
			assert.Contains(t, names, rule.ID)
		} else {
			assert.NotContains(t, names, rule.ID)
		}
	}
	assert.Len(t, names, len(Rules())-len(OfflineOnly))
}

type panics struct{}

func (panics) ReportViolation(string, string) {}

func TestARuleThatCannotReadTheStackFailsClosed(t *testing.T) {
	rule := Rule{ID: "X-01", Check: func(p *plan.Plan) []string { return []string{p.Resources[99].Name} }}
	violations := checkSafely(rule, &plan.Plan{})
	require.Len(t, violations, 1)
	assert.Contains(t, violations[0], "X-01 could not read the stack")

	pack, err := Pack()
	require.NoError(t, err)
	for _, policy := range pack.Policies() {
		// Every policy runs over an empty stack without an error.
		assert.NoError(t, policy.(policyx.StackValidationPolicy).Validate(context.Background(), policyx.StackValidationArgs{Manager: panics{}}))
	}
}

func TestAnAdvisoryLevelStaysAdvisory(t *testing.T) {
	Levels["SEC-09"] = policyx.EnforcementLevelAdvisory // the zero value of the type
	defer delete(Levels, "SEC-09")
	assert.Equal(t, policyx.EnforcementLevelAdvisory, level("SEC-09"))
	assert.Equal(t, policyx.EnforcementLevelMandatory, level("SEC-01"))
}
