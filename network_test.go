package main

import (
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	sgType      = "aws:ec2/securityGroup:SecurityGroup"
	ingressType = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	egressType  = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
)

func TestVpcHasTwoAZsThreeSubnetTiersAndANatPerAZ(t *testing.T) {
	p := planOf(t, minimalConfig())
	vpc := p.one(t, "awsx:ec2:Vpc", "vpc")

	assert.Equal(t, []any{"ap-northeast-2a", "ap-northeast-2b"}, vpc.list("availabilityZoneNames"))
	assert.Equal(t, "Auto", vpc.in("subnetStrategy"), "the subnet strategy is set explicitly")
	assert.Equal(t, "OnePerAz", vpc.obj("natGateways")["strategy"])
	assert.Equal(t, "10.0.0.0/16", vpc.in("cidrBlock"))
	assert.True(t, vpc.flag("enableDnsHostnames"))
	assert.True(t, vpc.flag("enableDnsSupport"))

	types := map[string]float64{}
	for _, s := range vpc.list("subnetSpecs") {
		spec := s.(map[string]any)
		types[spec["type"].(string)] = spec["cidrMask"].(float64)
	}
	assert.Equal(t, map[string]float64{"Public": 20, "Private": 18, "Isolated": 20}, types)
	assert.NotEmpty(t, vpc.Provider, "the remote VPC component is handed the explicit provider")
}

func TestNatStrategyFollowsConfig(t *testing.T) {
	p := planOf(t, with(minimalConfig(), "natGateways=Single"))
	assert.Equal(t, "Single", p.one(t, "awsx:ec2:Vpc", "vpc").obj("natGateways")["strategy"])
}

// rule is a security group rule as a reviewer reads it.
type rule struct {
	group     string // the group the rule belongs to
	direction string
	port      float64
	peer      string // a CIDR or the logical name of a group
}

// securityGroupRules lists every rule of the plan with groups replaced by their logical names.
func securityGroupRules(t *testing.T, p *Plan) []rule {
	t.Helper()
	groupName := func(id string) string {
		for _, g := range p.all(sgType) {
			if g.ID == id {
				return g.Name
			}
		}
		t.Fatalf("no security group with id %s", id)
		return ""
	}
	var rules []rule
	for _, typ := range []string{ingressType, egressType} {
		for _, r := range p.all(typ) {
			require.NotEmptyf(t, r.in("description"), "rule %s has no description", r.Name)
			require.Equalf(t, "tcp", r.in("ipProtocol"), "rule %s", r.Name)
			require.Equalf(t, r.num("fromPort"), r.num("toPort"), "rule %s opens a port range", r.Name)
			peer := r.in("cidrIpv4")
			if ref := r.in("referencedSecurityGroupId"); ref != "" {
				require.Emptyf(t, peer, "rule %s has two peers", r.Name)
				peer = groupName(ref)
			}
			direction := "in"
			if typ == egressType {
				direction = "out"
			}
			rules = append(rules, rule{groupName(r.in("securityGroupId")), direction, r.num("fromPort"), peer})
		}
	}
	sort.Slice(rules, func(i, j int) bool { return fmt.Sprint(rules[i]) < fmt.Sprint(rules[j]) })
	return rules
}

func TestSecurityGroupsAreLeastPrivilege(t *testing.T) {
	p := planOf(t, minimalConfig())
	want := []rule{
		{"alb-sg", "in", 443, "0.0.0.0/0"},
		{"alb-sg", "in", 80, "0.0.0.0/0"},
		{"alb-sg", "out", 80, "frontend-sg"},
		{"alb-sg", "out", 8000, "backend-sg"},
		{"backend-sg", "in", 8000, "alb-sg"},
		{"backend-sg", "out", 443, "0.0.0.0/0"},
		{"backend-sg", "out", 5432, "database-sg"},
		{"backend-sg", "out", 6379, "redis-sg"},
		{"database-sg", "in", 5432, "backend-sg"},
		{"frontend-sg", "in", 80, "alb-sg"},
		{"frontend-sg", "out", 443, "0.0.0.0/0"},
		{"redis-sg", "in", 6379, "backend-sg"},
	}
	sort.Slice(want, func(i, j int) bool { return fmt.Sprint(want[i]) < fmt.Sprint(want[j]) })
	assert.Equal(t, want, securityGroupRules(t, p))

	for _, sg := range p.all(sgType) {
		assert.Emptyf(t, sg.list("ingress"), "%s has inline ingress rules", sg.Name)
		assert.Emptyf(t, sg.list("egress"), "%s has inline egress rules", sg.Name)
		assert.NotEmptyf(t, sg.in("description"), "%s has no description", sg.Name)
	}
	assert.Len(t, p.all(sgType), 5)
}

func TestContainerPortsFollowConfig(t *testing.T) {
	p := planOf(t, with(minimalConfig(), "backendPort=9000", "frontendPort=8080"))
	rules := securityGroupRules(t, p)
	assert.Contains(t, rules, rule{"backend-sg", "in", 9000, "alb-sg"})
	assert.Contains(t, rules, rule{"alb-sg", "out", 9000, "backend-sg"})
	assert.Contains(t, rules, rule{"frontend-sg", "in", 8080, "alb-sg"})
	assert.NotContains(t, rules, rule{"backend-sg", "in", 8000, "alb-sg"})
}

func TestDefaultSecurityGroupIsEmptied(t *testing.T) {
	p := planOf(t, minimalConfig())
	def := p.one(t, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg")
	assert.Equal(t, p.Outputs["vpcId"], def.in("vpcId"))
	assert.Empty(t, def.list("ingress"), "the default group keeps no ingress rule")
	assert.Empty(t, def.list("egress"), "the default group keeps no egress rule")
}

func TestFlowLogsCaptureAllTrafficToARetainedLogGroup(t *testing.T) {
	p := planOf(t, minimalConfig())
	flow := p.one(t, "aws:ec2/flowLog:FlowLog", "flow-logs")
	group := p.one(t, "aws:cloudwatch/logGroup:LogGroup", "flow-logs")
	role := p.one(t, "aws:iam/role:Role", "flow-logs")

	assert.Equal(t, "ALL", flow.in("trafficType"))
	assert.Equal(t, "cloud-watch-logs", flow.in("logDestinationType"))
	assert.Equal(t, group.Outputs["arn"], flow.in("logDestination"))
	assert.Equal(t, role.Outputs["arn"], flow.in("iamRoleArn"))
	assert.Equal(t, p.Outputs["vpcId"], flow.in("vpcId"))
	assert.Equal(t, "/aws/vpc/flow-logs/coldchain-production", group.in("name"))
	assert.Equal(t, float64(90), group.num("retentionInDays"))

	var trust parsedPolicy
	role.doc(t, "assumeRolePolicy", &trust)
	require.Len(t, trust.Statement, 1)
	assert.Equal(t, map[string]any{"Service": "vpc-flow-logs.amazonaws.com"}, trust.Statement[0].Principal)
	assert.Equal(t, "123456789012", trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"],
		"the trust is limited to this account")

	// What the VPC Flow Logs guide asks for, each action on this group only, except
	// DescribeLogGroups, which IAM scopes no narrower than the account's log groups.
	var policy parsedPolicy
	rolePolicy := p.one(t, "aws:iam/rolePolicy:RolePolicy", "flow-logs")
	rolePolicy.doc(t, "policy", &policy)
	actions := map[string][]string{}
	for _, s := range policy.Statement {
		for _, a := range strs(s.Action) {
			actions[a] = strs(s.Resource)
		}
	}
	arn := "arn:aws:logs:ap-northeast-2:123456789012:log-group:/aws/vpc/flow-logs/coldchain-production"
	assert.Equal(t, map[string][]string{
		"logs:DescribeLogGroups":  {"arn:aws:logs:ap-northeast-2:123456789012:log-group:*"},
		"logs:DescribeLogStreams": {arn, arn + ":log-stream:*"},
		"logs:CreateLogStream":    {arn, arn + ":log-stream:*"},
		"logs:PutLogEvents":       {arn, arn + ":log-stream:*"},
	}, actions)
	assert.Contains(t, flow.DependsOn, rolePolicy.URN, "the flow log waits for its role's policy")
}

func TestFlowLogRetentionFollowsConfig(t *testing.T) {
	p := planOf(t, with(minimalConfig(), "flowLogRetentionDays=365"))
	assert.Equal(t, float64(365), p.one(t, "aws:cloudwatch/logGroup:LogGroup", "flow-logs").num("retentionInDays"))
}
