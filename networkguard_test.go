package main

import (
	"coldchain/internal/offline"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The network rules check the VPC as awsx builds it: the children the offline engine models
// from awsx's source (awsxvpc.go), not the component's inputs. Each rule is fed a plan broken
// the way it guards against.

var networkRules = []guardRule{
	{"NET-01", "isolation of the data tier",
		"Isolated subnets (database, cache) have no route out of the VPC and map no public IP.",
		checkIsolatedSubnets},
	{"NET-02", "egress of the tasks",
		"Each private subnet's default route goes to a NAT gateway in a public subnet; its own zone's under OnePerAz.",
		checkPrivateEgress},
	{"NET-03", "public addressing",
		"Only public subnets map public IPs on launch, and each routes 0.0.0.0/0 to the VPC's internet gateway.",
		checkPublicSubnets},
	{"NET-04", "subnet layout",
		"No two subnets overlap.",
		checkNoOverlap},
	{"NET-05", "subnet layout",
		"Every subnet lies inside the VPC's range.",
		checkSubnetsInsideVpc},
	{"NET-06", "tiers",
		"The load balancer sits in the public subnets, the tasks in the private ones, the database and cache in the isolated ones.",
		checkTierPlacement},
}

func TestNetworkRulesHoldForEveryStackAndVariation(t *testing.T) {
	checkVariations(t, networkRules)
}

// network is the modeled VPC of a plan, indexed for the rules.
type network struct {
	vpc       *offline.PlanResource
	subnets   []*offline.PlanResource
	byID      map[string]*offline.PlanResource
	tableOf   map[string]string // subnet id -> route table id
	routesOf  map[string][]*offline.PlanResource
	strategy  string
	subnetsOf map[string][]*offline.PlanResource // by subnet type (subnetKind)
}

func networkOf(p *offline.Plan) *network {
	n := &network{byID: map[string]*offline.PlanResource{}, tableOf: map[string]string{}, routesOf: map[string][]*offline.PlanResource{},
		subnetsOf: map[string][]*offline.PlanResource{}}
	for _, r := range p.Resources {
		if r.Custom {
			n.byID[r.ID] = r
		}
	}
	for _, v := range p.All("aws:ec2/vpc:Vpc") {
		n.vpc = v
	}
	n.subnets = p.All(subnetType)
	for _, s := range n.subnets {
		n.subnetsOf[subnetKind(s)] = append(n.subnetsOf[subnetKind(s)], s)
	}
	for _, a := range p.All("aws:ec2/routeTableAssociation:RouteTableAssociation") {
		n.tableOf[a.In("subnetId")] = a.In("routeTableId")
	}
	for _, r := range p.All(routeType) {
		n.routesOf[r.In("routeTableId")] = append(n.routesOf[r.In("routeTableId")], r)
	}
	n.strategy = "OnePerAz"
	for _, c := range p.All("awsx:ec2:Vpc") {
		if s, ok := c.Obj("natGateways")["strategy"].(string); ok {
			n.strategy = s
		}
	}
	return n
}

// subnetKind is a subnet's awsx type, from the SubnetType tag awsx gives it.
func subnetKind(r *offline.PlanResource) string {
	s, _ := r.Obj("tags")["SubnetType"].(string)
	return s
}

func (n *network) defaultRoute(subnet *offline.PlanResource) *offline.PlanResource {
	for _, r := range n.routesOf[n.tableOf[subnet.ID]] {
		if r.In("destinationCidrBlock") == "0.0.0.0/0" {
			return r
		}
	}
	return nil
}

func checkIsolatedSubnets(p *offline.Plan) []string {
	var v []string
	n := networkOf(p)
	for _, s := range n.subnetsOf["Isolated"] {
		if _, ok := n.tableOf[s.ID]; !ok {
			v = append(v, s.Name+": isolated subnet without its own route table (the main table may route out)")
		}
		for _, r := range n.routesOf[n.tableOf[s.ID]] {
			v = append(v, fmt.Sprintf("%s: isolated subnet routes %s out", s.Name, r.In("destinationCidrBlock")))
		}
		if s.Flag("mapPublicIpOnLaunch") {
			v = append(v, s.Name+": isolated subnet maps public IPs")
		}
	}
	if len(n.subnetsOf["Isolated"]) == 0 {
		v = append(v, "no isolated subnets")
	}
	return v
}

func checkPrivateEgress(p *offline.Plan) []string {
	var v []string
	n := networkOf(p)
	for _, s := range n.subnetsOf["Private"] {
		route := n.defaultRoute(s)
		if route == nil {
			v = append(v, s.Name+": private subnet without a default route")
			continue
		}
		nat := n.byID[route.In("natGatewayId")]
		if nat == nil || nat.Type != natType {
			v = append(v, s.Name+": default route does not go to a NAT gateway")
			continue
		}
		home := n.byID[nat.In("subnetId")]
		if home == nil || subnetKind(home) != "Public" {
			v = append(v, s.Name+": NAT gateway "+nat.Name+" is not in a public subnet")
			continue
		}
		if n.strategy == natOnePerAz && home.In("availabilityZone") != s.In("availabilityZone") {
			v = append(v, fmt.Sprintf("%s: routes to NAT gateway %s in %s, not its own zone's", s.Name, nat.Name, home.In("availabilityZone")))
		}
	}
	return v
}

func checkPublicSubnets(p *offline.Plan) []string {
	var v []string
	n := networkOf(p)
	for _, s := range n.subnets {
		public := subnetKind(s) == "Public"
		if s.Flag("mapPublicIpOnLaunch") != public {
			v = append(v, fmt.Sprintf("%s: %s subnet with mapPublicIpOnLaunch %v", s.Name, subnetKind(s), s.Flag("mapPublicIpOnLaunch")))
		}
		if !public {
			continue
		}
		route := n.defaultRoute(s)
		if route == nil || n.byID[route.In("gatewayId")] == nil || n.byID[route.In("gatewayId")].Type != "aws:ec2/internetGateway:InternetGateway" ||
			n.byID[route.In("gatewayId")].In("vpcId") != n.vpc.ID {
			v = append(v, s.Name+": public subnet does not route to the VPC's internet gateway")
		}
	}
	return v
}

func checkNoOverlap(p *offline.Plan) []string {
	var v []string
	subnets := p.All(subnetType)
	for i, a := range subnets {
		for _, b := range subnets[i+1:] {
			pa, errA := netip.ParsePrefix(a.In("cidrBlock"))
			pb, errB := netip.ParsePrefix(b.In("cidrBlock"))
			if errA != nil || errB != nil || pa.Overlaps(pb) {
				v = append(v, fmt.Sprintf("%s (%s) overlaps %s (%s)", a.Name, a.In("cidrBlock"), b.Name, b.In("cidrBlock")))
			}
		}
	}
	return v
}

func checkSubnetsInsideVpc(p *offline.Plan) []string {
	var v []string
	n := networkOf(p)
	if n.vpc == nil {
		return []string{"no VPC in the plan"}
	}
	vpc, err := netip.ParsePrefix(n.vpc.In("cidrBlock"))
	if err != nil {
		return []string{"VPC range " + n.vpc.In("cidrBlock")}
	}
	for _, s := range n.subnets {
		sub, err := netip.ParsePrefix(s.In("cidrBlock"))
		if err != nil || !contains(vpc, sub) {
			v = append(v, fmt.Sprintf("%s: %s lies outside the VPC %s", s.Name, s.In("cidrBlock"), vpc))
		}
		if s.In("vpcId") != n.vpc.ID {
			v = append(v, s.Name+": subnet of another VPC")
		}
	}
	return v
}

func checkTierPlacement(p *offline.Plan) []string {
	var v []string
	n := networkOf(p)
	same := func(got []any, kind string) bool {
		want := n.subnetsOf[kind]
		if len(got) != len(want) || len(want) == 0 {
			return false
		}
		for _, id := range got {
			if !slices.ContainsFunc(want, func(s *offline.PlanResource) bool { return s.ID == id }) {
				return false
			}
		}
		return true
	}
	for _, r := range p.All(albType) {
		if !same(r.List("subnets"), "Public") {
			v = append(v, r.Name+": load balancer outside the public subnets")
		}
	}
	for _, r := range p.All(serviceType) {
		if subnets, _ := r.Obj("networkConfiguration")["subnets"].([]any); !same(subnets, "Private") {
			v = append(v, r.Name+": tasks outside the private subnets")
		}
	}
	for _, r := range append(p.All("aws:rds/subnetGroup:SubnetGroup"), p.All("aws:elasticache/subnetGroup:SubnetGroup")...) {
		if !same(r.List("subnetIds"), "Isolated") {
			v = append(v, r.Name+": subnet group outside the isolated subnets")
		}
	}
	return v
}

func TestNetworkRulesCatchViolations(t *testing.T) {
	base := planOfVariation(t, variations[0])
	subnet := func(p *offline.Plan, name string) *offline.PlanResource { return p.One(t, subnetType, name) }
	for _, tc := range []struct {
		rule   string
		break_ func(p *offline.Plan)
	}{
		{"NET-01", func(p *offline.Plan) {
			// A copy of a public route, put on an isolated subnet's route table.
			route := *p.One(t, routeType, "vpc-public-1")
			route.Inputs = map[string]any{"routeTableId": p.One(t, "aws:ec2/routeTable:RouteTable", "vpc-isolated-1").ID,
				"gatewayId": route.In("gatewayId"), "destinationCidrBlock": "0.0.0.0/0"}
			route.Name = "leak"
			p.Resources = append(p.Resources, &route)
		}},
		{"NET-02", func(p *offline.Plan) {
			p.One(t, routeType, "vpc-private-2").Inputs["natGatewayId"] = p.One(t, natType, "vpc-1").ID
		}},
		{"NET-03", func(p *offline.Plan) { subnet(p, "vpc-private-1").Inputs["mapPublicIpOnLaunch"] = true }},
		{"NET-04", func(p *offline.Plan) {
			subnet(p, "vpc-isolated-1").Inputs["cidrBlock"] = subnet(p, "vpc-public-2").In("cidrBlock")
		}},
		{"NET-05", func(p *offline.Plan) { subnet(p, "vpc-isolated-2").Inputs["cidrBlock"] = "10.1.0.0/20" }},
		{"NET-06", func(p *offline.Plan) { p.One(t, albType, "alb").Inputs["subnets"] = p.Outputs["privateSubnetIds"] }},
	} {
		broken := clonePlan(t, base)
		tc.break_(broken)
		found := false
		for _, rule := range networkRules {
			if rule.id == tc.rule {
				found = true
				assert.NotEmptyf(t, rule.check(broken), "%s does not notice its violation", rule.id)
				assert.Emptyf(t, rule.check(base), "%s flags the unbroken plan", rule.id)
			}
		}
		assert.Truef(t, found, "no rule %s", tc.rule)
	}
}

// TestSubnetsRederivedFromTheVpcInputsFitTheVpc re-derives awsx's layout from the VPC
// component's inputs, independently of subnets.go and of the engine's model: with explicit
// cidrBlocks (the only form the program may send, so that awsx makes no choice) the subnet of
// spec s in zone i is s.cidrBlocks[i]. Every subnet must lie inside the VPC and inside its
// zone's share of it, none may overlap, and the plan's modeled subnets must be exactly these.
func TestSubnetsRederivedFromTheVpcInputsFitTheVpc(t *testing.T) {
	for _, v := range []variation{
		{"production", "production", nil, false},
		{"staging", "staging", nil, false},
		{"/16", "production", []string{"vpcCidr=10.200.0.0/16"}, false},
		{"/18", "production", []string{"vpcCidr=172.20.64.0/18"}, false},
		{"/20", "staging", []string{"vpcCidr=192.168.16.0/20"}, false},
	} {
		t.Run(v.name, func(t *testing.T) {
			p := planOfFile(t, v.stack, v.sets...)
			component := p.One(t, "awsx:ec2:Vpc", "vpc")
			vpc := netip.MustParsePrefix(component.In("cidrBlock"))
			zones := component.List("availabilityZoneNames")
			require.Len(t, zones, 2)
			zoneSize := uint32(1) << (32 - vpc.Bits()) / uint32(len(zones))

			want := map[string]string{} // subnet name -> "cidr in zone"
			var derived []netip.Prefix
			for _, raw := range component.List("subnetSpecs") {
				spec := raw.(map[string]any)
				blocks, ok := spec["cidrBlocks"].([]any)
				require.Truef(t, ok, "spec %v has no explicit cidrBlocks: awsx would choose the layout", spec)
				require.Len(t, blocks, len(zones))
				for i, b := range blocks {
					sub := netip.MustParsePrefix(b.(string))
					zoneStart := addrUint(vpc.Addr()) + uint32(i)*zoneSize
					first, last := addrUint(sub.Addr()), addrUint(sub.Addr())+(uint32(1)<<(32-sub.Bits()))-1
					assert.Truef(t, first >= zoneStart && last < zoneStart+zoneSize, "%s is not inside zone %d's share of %s", sub, i+1, vpc)
					for _, other := range derived {
						assert.Falsef(t, other.Overlaps(sub), "%s overlaps %s", sub, other)
					}
					derived = append(derived, sub)
					name := fmt.Sprintf("vpc-%s-%d", spec["name"], i+1)
					want[name] = sub.String() + " in " + zones[i].(string)
				}
			}
			got := map[string]string{}
			for _, s := range p.All(subnetType) {
				got[s.Name] = s.In("cidrBlock") + " in " + s.In("availabilityZone")
			}
			assert.Equal(t, want, got)
			names := make([]string, 0, len(got))
			for name := range got {
				names = append(names, name)
			}
			sort.Strings(names)
			assert.Equal(t, "vpc-isolated-1 vpc-isolated-2 vpc-private-1 vpc-private-2 vpc-public-1 vpc-public-2", strings.Join(names, " "))
		})
	}
}
