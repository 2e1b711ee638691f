package main

import (
	"coldchain/internal/guard"
	"coldchain/internal/offline"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNetworkRulesHoldForEveryStackAndVariation(t *testing.T) {
	t.Parallel()
	checkVariations(t, guard.Network)
}

func TestNetworkRulesCatchViolations(t *testing.T) {
	t.Parallel()
	base := planOfVariation(t, variations[0])
	subnet := func(p *offline.Plan, name string) *offline.PlanResource { return p.One(t, subnetType, name) }
	for _, tc := range []brokenPlan{
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
		assertCatches(t, tc.rule, base, broken)
	}
}

// TestSubnetsRederivedFromTheVpcInputsFitTheVpc re-derives awsx's layout from the VPC
// component's inputs, independently of subnets.go and of the engine's model: with explicit
// cidrBlocks (the only form the program may send, so that awsx makes no choice) the subnet of
// spec s in zone i is s.cidrBlocks[i]. Every subnet must lie inside the VPC and inside its
// zone's share of it, none may overlap, and the plan's modeled subnets must be exactly these.
func TestSubnetsRederivedFromTheVpcInputsFitTheVpc(t *testing.T) {
	t.Parallel()
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
