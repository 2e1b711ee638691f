package main

import (
	"coldchain/internal/offline"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rule is a security group rule as a reviewer reads it.
type rule struct {
	group     string // the group the rule belongs to
	direction string
	port      float64
	peer      string // a CIDR or the logical name of a group
}

// securityGroupRules lists every rule of the plan with groups replaced by their logical names.
func securityGroupRules(t *testing.T, p *offline.Plan) []rule {
	t.Helper()
	groupName := func(id string) string {
		for _, g := range p.All(sgType) {
			if g.ID == id {
				return g.Name
			}
		}
		t.Fatalf("no security group with id %s", id)
		return ""
	}
	var rules []rule
	for _, typ := range []string{ingressType, egressType} {
		for _, r := range p.All(typ) {
			require.NotEmptyf(t, r.In("description"), "rule %s has no description", r.Name)
			require.Equalf(t, "tcp", r.In("ipProtocol"), "rule %s", r.Name)
			require.Equalf(t, r.Num("fromPort"), r.Num("toPort"), "rule %s opens a port range", r.Name)
			peer := r.In("cidrIpv4")
			if ref := r.In("referencedSecurityGroupId"); ref != "" {
				require.Emptyf(t, peer, "rule %s has two peers", r.Name)
				peer = groupName(ref)
			}
			direction := "in"
			if typ == egressType {
				direction = "out"
			}
			rules = append(rules, rule{groupName(r.In("securityGroupId")), direction, r.Num("fromPort"), peer})
		}
	}
	sort.Slice(rules, func(i, j int) bool { return fmt.Sprint(rules[i]) < fmt.Sprint(rules[j]) })
	return rules
}

func TestVpcHasTwoAZsThreeSubnetTiersAndANatPerAZ(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	vpc := p.One(t, "awsx:ec2:Vpc", "vpc")

	assert.Equal(t, []any{"ap-northeast-2a", "ap-northeast-2b"}, vpc.List("availabilityZoneNames"))
	assert.Equal(t, "Auto", vpc.In("subnetStrategy"), "the subnet strategy is set explicitly")
	assert.Equal(t, "OnePerAz", vpc.Obj("natGateways")["strategy"])
	assert.Equal(t, "10.0.0.0/16", vpc.In("cidrBlock"))
	assert.True(t, vpc.Flag("enableDnsHostnames"))
	assert.True(t, vpc.Flag("enableDnsSupport"))

	types := map[string]float64{}
	for _, s := range vpc.List("subnetSpecs") {
		spec := s.(map[string]any)
		types[spec["type"].(string)] = spec["cidrMask"].(float64)
	}
	assert.Equal(t, map[string]float64{"Public": 20, "Private": 18, "Isolated": 20}, types)
	assert.NotEmpty(t, vpc.Provider, "the remote VPC component is handed the explicit provider")
}

func TestNatStrategyFollowsConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "natGateways=Single"))
	assert.Equal(t, "Single", p.One(t, "awsx:ec2:Vpc", "vpc").Obj("natGateways")["strategy"])
}

func TestSecurityGroupsAreLeastPrivilege(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	want := []rule{
		// The internet reaches the load balancer only, on 80 and 443.
		{"alb-sg", "in", 443, "0.0.0.0/0"}, {"alb-sg", "in", 80, "0.0.0.0/0"},
		// The load balancer reaches each service's container port, and nothing else.
		{"alb-sg", "out", 80, "frontend-sg"}, {"alb-sg", "out", 8000, "backend-sg"},
		{"backend-sg", "in", 8000, "alb-sg"}, {"frontend-sg", "in", 80, "alb-sg"},
		// Only the backend reaches the data tier, each store on its own port.
		{"backend-sg", "out", 5432, "database-sg"}, {"database-sg", "in", 5432, "backend-sg"},
		{"backend-sg", "out", 6379, "redis-sg"}, {"redis-sg", "in", 6379, "backend-sg"},
		// The tasks reach AWS's APIs over HTTPS, through the NAT gateways.
		{"backend-sg", "out", 443, "0.0.0.0/0"}, {"frontend-sg", "out", 443, "0.0.0.0/0"},
	}
	sort.Slice(want, func(i, j int) bool { return fmt.Sprint(want[i]) < fmt.Sprint(want[j]) })
	assert.Equal(t, want, securityGroupRules(t, p))

	for _, sg := range p.All(sgType) {
		assert.Emptyf(t, sg.List("ingress"), "%s has inline ingress rules", sg.Name)
		assert.Emptyf(t, sg.List("egress"), "%s has inline egress rules", sg.Name)
		assert.NotEmptyf(t, sg.In("description"), "%s has no description", sg.Name)
	}
	assert.Len(t, p.All(sgType), 5)
}

func TestContainerPortsFollowConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "backendPort=9000", "frontendPort=8080"))
	rules := securityGroupRules(t, p)
	assert.Contains(t, rules, rule{"backend-sg", "in", 9000, "alb-sg"})
	assert.Contains(t, rules, rule{"alb-sg", "out", 9000, "backend-sg"})
	assert.Contains(t, rules, rule{"frontend-sg", "in", 8080, "alb-sg"})
	assert.NotContains(t, rules, rule{"backend-sg", "in", 8000, "alb-sg"})
}

func TestDefaultSecurityGroupIsEmptied(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	def := p.One(t, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg")
	assert.Equal(t, p.Outputs["vpcId"], def.In("vpcId"))
	assert.Empty(t, def.List("ingress"), "the default group keeps no ingress rule")
	assert.Empty(t, def.List("egress"), "the default group keeps no egress rule")
}

func TestFlowLogsCaptureAllTrafficToARetainedLogGroup(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	flow := p.One(t, "aws:ec2/flowLog:FlowLog", "flow-logs")
	group := p.One(t, "aws:cloudwatch/logGroup:LogGroup", "flow-logs")
	role := p.One(t, "aws:iam/role:Role", "flow-logs")

	assert.Equal(t, "ALL", flow.In("trafficType"))
	assert.Equal(t, "cloud-watch-logs", flow.In("logDestinationType"))
	assert.Equal(t, group.Outputs["arn"], flow.In("logDestination"))
	assert.Equal(t, role.Outputs["arn"], flow.In("iamRoleArn"))
	assert.Equal(t, p.Outputs["vpcId"], flow.In("vpcId"))
	assert.Equal(t, "/aws/vpc/flow-logs/coldchain-production", group.In("name"))
	assert.Equal(t, float64(90), group.Num("retentionInDays"))

	var trust parsedPolicy
	role.Doc(t, "assumeRolePolicy", &trust)
	require.Len(t, trust.Statement, 1)
	assert.Equal(t, map[string]any{"Service": "vpc-flow-logs.amazonaws.com"}, bySid(t, trust, "AssumedByVpcFlowLogs").Principal)
	assert.Equal(t, "123456789012", bySid(t, trust, "AssumedByVpcFlowLogs").Condition["StringEquals"]["aws:SourceAccount"],
		"the trust is limited to this account")

	// What the VPC Flow Logs guide asks for, each action on this group only, except
	// DescribeLogGroups, which IAM scopes no narrower than the account's log groups.
	var policy parsedPolicy
	rolePolicy := p.One(t, "aws:iam/rolePolicy:RolePolicy", "flow-logs")
	rolePolicy.Doc(t, "policy", &policy)
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
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "flowLogRetentionDays=365"))
	assert.Equal(t, float64(365), p.One(t, "aws:cloudwatch/logGroup:LogGroup", "flow-logs").Num("retentionInDays"))
}

func TestModeledVpcChildrenOfTheStack(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	component := p.One(t, "awsx:ec2:Vpc", "vpc")
	vpc := p.One(t, "aws:ec2/vpc:Vpc", "vpc")
	igw := p.One(t, "aws:ec2/internetGateway:InternetGateway", "vpc")

	counts := map[string]int{}
	for _, r := range p.Resources {
		if r.ModeledBy != "" {
			assert.Equal(t, "awsx:ec2:Vpc", r.ModeledBy)
			assert.Equalf(t, component.Provider, r.Provider, "%s %s uses the component's provider", r.Type, r.Name)
			counts[r.Type[strings.LastIndex(r.Type, ":")+1:]]++
		}
	}
	assert.Equal(t, map[string]int{"Vpc": 1, "InternetGateway": 1, "Subnet": 6, "RouteTable": 6,
		"RouteTableAssociation": 6, "Route": 4, "Eip": 2, "NatGateway": 2}, counts)

	assert.Equal(t, component.URN, vpc.Parent)
	assert.Equal(t, "10.0.0.0/16", vpc.In("cidrBlock"))
	assert.True(t, vpc.Flag("enableDnsHostnames"))
	assert.Equal(t, "coldchain-production", vpc.Obj("tags")["Name"])
	assert.Equal(t, vpc.URN, igw.Parent)
	assert.Equal(t, []string{vpc.URN}, igw.DependsOn)

	for zone := 1; zone <= 2; zone++ {
		n := func(kind string) string { return "vpc-" + kind + "-" + string(rune('0'+zone)) }
		public := p.One(t, "aws:ec2/subnet:Subnet", n("public"))
		table := p.One(t, "aws:ec2/routeTable:RouteTable", n("private"))
		assoc := p.One(t, "aws:ec2/routeTableAssociation:RouteTableAssociation", n("private"))
		private := p.One(t, "aws:ec2/subnet:Subnet", n("private"))
		nat := p.One(t, "aws:ec2/natGateway:NatGateway", "vpc-"+string(rune('0'+zone)))
		eip := p.One(t, "aws:ec2/eip:Eip", "vpc-"+string(rune('0'+zone)))
		route := p.One(t, "aws:ec2/route:Route", n("private"))

		assert.Equal(t, private.URN, table.Parent, "a route table is the child of its subnet")
		assert.Equal(t, table.URN, assoc.Parent)
		assert.ElementsMatch(t, []string{private.URN, table.URN}, assoc.DependsOn)
		assert.Equal(t, private.ID, assoc.In("subnetId"))
		assert.Equal(t, table.ID, assoc.In("routeTableId"))
		assert.Equal(t, public.URN, nat.Parent, "the NAT gateway is the child of its public subnet")
		assert.Equal(t, eip.Outputs["allocationId"], nat.In("allocationId"))
		assert.Contains(t, nat.DependsOn, eip.URN)
		assert.Equal(t, nat.ID, route.In("natGatewayId"), "OnePerAz: zone %d routes to its own NAT gateway", zone)
		assert.Equal(t, "0.0.0.0/0", route.In("destinationCidrBlock"))
		assert.Equal(t, igw.ID, p.One(t, "aws:ec2/route:Route", n("public")).In("gatewayId"))
		assert.Nil(t, p.Find("aws:ec2/route:Route", n("isolated")), "isolated subnets have no route")
	}

	// The component's outputs are its children's ids, in zone order.
	assert.Equal(t, vpc.ID, p.Outputs["vpcId"])
	var privateIDs []any
	for _, name := range []string{"vpc-private-1", "vpc-private-2"} {
		privateIDs = append(privateIDs, p.One(t, "aws:ec2/subnet:Subnet", name).ID)
	}
	assert.Equal(t, privateIDs, p.Outputs["privateSubnetIds"])
	assert.Equal(t, privateIDs, p.One(t, serviceType, "backend").Obj("networkConfiguration")["subnets"],
		"the tasks run in the modeled private subnets")
}

func TestUsersOfTheVpcWaitForAllItsChildren(t *testing.T) {
	t.Parallel()
	// A resource that reads an output of a remote component waits for the whole component: its
	// outputs resolve only once its provider has registered every child.
	p := planOfFile(t, "production")
	sg := p.One(t, sgType, "alb-sg")
	for _, r := range p.Resources {
		if r.ModeledBy != "" {
			assert.Containsf(t, sg.DependsOn, r.URN, "alb-sg does not wait for %s %s", r.Type, r.Name)
		}
	}
}

func TestModeledResourcesAreMarkedInJSONAndTree(t *testing.T) {
	t.Parallel()
	code, out, _ := runPlanCommand(t, "--json")
	require.Equal(t, 0, code)
	assert.Contains(t, out, `"modeledBy": "awsx:ec2:Vpc"`)
	assert.Equal(t, 28, strings.Count(out, `"modeledBy"`), "only modeled children carry the field")

	code, out, _ = runPlanCommand(t)
	require.Equal(t, 0, code)
	assert.Contains(t, out, ", 28 of them modeled from the source of the remote components")
	assert.Contains(t, out, "+ aws:ec2/subnet:Subnet  vpc-private-1  (10.0.0.0/18 in ap-northeast-2a)  [modeled from awsx:ec2:Vpc]")
	assert.Contains(t, out, "+ aws:ec2/route:Route  vpc-private-2  (0.0.0.0/0 to NatGateway vpc-2)")
}

func TestS3TrafficOfThePrivateSubnetsSkipsTheNatGateways(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	endpoint := p.One(t, "aws:ec2/vpcEndpoint:VpcEndpoint", "s3")
	assert.Equal(t, "Gateway", endpoint.In("vpcEndpointType"), "a gateway endpoint, which is free")
	assert.Equal(t, "com.amazonaws.ap-northeast-2.s3", endpoint.In("serviceName"))
	assert.Equal(t, p.One(t, "aws:ec2/vpc:Vpc", "vpc").ID, endpoint.In("vpcId"))
	// Exactly the private subnets' route tables: the tasks pull their image layers from S3;
	// the isolated subnets reach nothing, and the public ones have the internet gateway.
	var private []string
	for _, a := range p.All("aws:ec2/routeTableAssociation:RouteTableAssociation") {
		if strings.HasPrefix(a.Name, "vpc-private-") {
			private = append(private, a.In("routeTableId"))
		}
	}
	require.Len(t, private, 2)
	assert.ElementsMatch(t, private, endpoint.List("routeTableIds"))

	p = planOf(t, with(minimalConfig(), "s3GatewayEndpoint=false"))
	assert.Empty(t, p.All("aws:ec2/vpcEndpoint:VpcEndpoint"))
}

func TestAnExplicitSubnetLayoutIsHandedToAwsxAsIs(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), `publicSubnetCidrs=["10.0.1.0/24","10.0.2.0/24"]`,
		`privateSubnetCidrs=["10.0.32.0/20","10.0.48.0/20"]`, `isolatedSubnetCidrs=["10.0.21.0/24","10.0.22.0/28"]`))
	cidrs := map[string]string{}
	for _, s := range p.All(subnetType) {
		cidrs[s.Name] = s.In("cidrBlock") + " " + s.In("availabilityZone")
	}
	assert.Equal(t, map[string]string{
		"vpc-public-1": "10.0.1.0/24 ap-northeast-2a", "vpc-public-2": "10.0.2.0/24 ap-northeast-2b",
		"vpc-private-1": "10.0.32.0/20 ap-northeast-2a", "vpc-private-2": "10.0.48.0/20 ap-northeast-2b",
		"vpc-isolated-1": "10.0.21.0/24 ap-northeast-2a", "vpc-isolated-2": "10.0.22.0/28 ap-northeast-2b",
	}, cidrs)
	// awsx takes a cidrMask only when it matches every block of the spec.
	masks := map[string]any{}
	for _, spec := range p.One(t, "awsx:ec2:Vpc", "vpc").List("subnetSpecs") {
		m := spec.(map[string]any)
		masks[m["name"].(string)] = m["cidrMask"]
	}
	assert.Equal(t, map[string]any{"public": float64(24), "private": float64(20), "isolated": nil}, masks)
}
