package main

import (
	"net/netip"
	"strings"
	"testing"

	awsxec2 "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests hold the offline engine's model of the awsx VPC (awsxvpc.go) to awsx's own
// behaviour, as read in pulumi-awsx v2.22.0's vpc.ts and subnetDistributorNew.ts.

// planVpcOnly runs a program that registers nothing but an awsx VPC with the given arguments.
func planVpcOnly(t *testing.T, args *awsxec2.VpcArgs) (*Plan, error) {
	t.Helper()
	e := &offlineEngine{project: project, stack: "test", region: defaultRegion}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := awsxec2.NewVpc(ctx, "vpc", args)
		return err
	}, pulumi.WithMocks(project, "test", e))
	return e.plan(nil), err
}

// theOldSpecs are the subnet specs the program handed awsx before it computed the layout itself:
// masks only, in the order public /20, private /18, isolated /20, with /17 zones.
func theOldSpecs() *awsxec2.VpcArgs {
	return &awsxec2.VpcArgs{
		CidrBlock:                pulumi.StringRef("10.0.0.0/16"),
		AvailabilityZoneNames:    []string{"ap-northeast-2a", "ap-northeast-2b"},
		AvailabilityZoneCidrMask: pulumi.IntRef(17),
		SubnetStrategy:           ptr(awsxec2.SubnetAllocationStrategyAuto),
		SubnetSpecs: []awsxec2.SubnetSpecArgs{
			{Type: awsxec2.SubnetTypePublic, Name: pulumi.StringRef("public"), CidrMask: pulumi.IntRef(20)},
			{Type: awsxec2.SubnetTypePrivate, Name: pulumi.StringRef("private"), CidrMask: pulumi.IntRef(18)},
			{Type: awsxec2.SubnetTypeIsolated, Name: pulumi.StringRef("isolated"), CidrMask: pulumi.IntRef(20)},
		},
	}
}

func TestAwsxAutoStrategyPlacesTheOldSpecsAsAwsxDoes(t *testing.T) {
	// awsx's nextNetmask places each subnet after the previous one, aligned to its own size.
	subnets, err := awsxAutoSubnets("vpc", netip.MustParsePrefix("10.0.0.0/16"), []string{"a", "b"}, []awsxSubnetInput{
		{kind: "Public", name: "public", cidrMask: 20}, {kind: "Private", name: "private", cidrMask: 18},
		{kind: "Isolated", name: "isolated", cidrMask: 20},
	}, 17)
	require.NoError(t, err)
	got := map[string]string{}
	for _, s := range subnets {
		got[s.name] = s.cidr.String()
	}
	assert.Equal(t, map[string]string{
		"vpc-public-1": "10.0.0.0/20", "vpc-private-1": "10.0.64.0/18", "vpc-isolated-1": "10.0.128.0/20",
		"vpc-public-2": "10.0.128.0/20", "vpc-private-2": "10.0.192.0/18", "vpc-isolated-2": "10.1.0.0/20",
	}, got)
}

func TestAwsxRefusesTheOldSpecsAsPreviewWould(t *testing.T) {
	// The mistake this model exists to catch: awsx's validateSubnets throws during preview.
	_, err := planVpcOnly(t, theOldSpecs())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "The following subnets overlap with at least one other subnet")
	assert.Contains(t, err.Error(), "vpc-isolated-1: 10.0.128.0/20")
	assert.Contains(t, err.Error(), "vpc-public-2: 10.0.128.0/20")
}

func TestAwsxTakesExplicitCidrBlocksVerbatim(t *testing.T) {
	p, err := planVpcOnly(t, &awsxec2.VpcArgs{
		CidrBlock:             pulumi.StringRef("10.9.0.0/16"),
		AvailabilityZoneNames: []string{"ap-northeast-2a", "ap-northeast-2b"},
		SubnetStrategy:        ptr(awsxec2.SubnetAllocationStrategyAuto),
		SubnetSpecs: []awsxec2.SubnetSpecArgs{
			{Type: awsxec2.SubnetTypePrivate, CidrBlocks: []string{"10.9.0.0/24", "10.9.1.0/24"}},
			{Type: awsxec2.SubnetTypePublic, Name: pulumi.StringRef("edge"), CidrBlocks: []string{"10.9.2.0/28", "10.9.3.0/28"}},
		},
		NatGateways: &awsxec2.NatGatewayConfigurationArgs{Strategy: awsxec2.NatGatewayStrategySingle},
		Tags:        pulumi.StringMap{"Team": pulumi.String("dispatch")},
	})
	require.NoError(t, err)
	subnets := map[string]*PlanResource{}
	for _, s := range p.all("aws:ec2/subnet:Subnet") {
		subnets[s.Name] = s
	}
	require.Len(t, subnets, 4)
	assert.Equal(t, "10.9.1.0/24", subnets["vpc-private-2"].in("cidrBlock"))
	assert.Equal(t, "10.9.2.0/28", subnets["vpc-edge-1"].in("cidrBlock"), "a spec's name replaces its type in the subnet's name")
	assert.Equal(t, "ap-northeast-2b", subnets["vpc-edge-2"].in("availabilityZone"))
	assert.True(t, subnets["vpc-edge-1"].flag("mapPublicIpOnLaunch"))
	assert.False(t, subnets["vpc-private-1"].flag("mapPublicIpOnLaunch"))
	assert.Equal(t, map[string]any{"Name": "vpc-edge-1", "SubnetType": "Public", "Team": "dispatch"}, subnets["vpc-edge-1"].obj("tags"))
	assert.Equal(t, map[string]any{"Name": "vpc", "Team": "dispatch"}, p.one(t, "aws:ec2/vpc:Vpc", "vpc").obj("tags"))
	// Single: one NAT gateway, in zone 1's public subnet, for both private subnets.
	require.Len(t, p.all("aws:ec2/natGateway:NatGateway"), 1)
	nat := p.one(t, "aws:ec2/natGateway:NatGateway", "vpc-1")
	assert.Equal(t, subnets["vpc-edge-1"].ID, nat.in("subnetId"))
	assert.Equal(t, map[string]any{"Name": "vpc-1", "Team": "dispatch"}, nat.obj("tags"))
	for _, name := range []string{"vpc-private-1", "vpc-private-2"} {
		assert.Equal(t, nat.ID, p.one(t, "aws:ec2/route:Route", name).in("natGatewayId"))
	}
}

func TestAwsxRefusesInconsistentExplicitBlocks(t *testing.T) {
	for name, specs := range map[string][]awsxec2.SubnetSpecArgs{
		"one block for two zones": {{Type: awsxec2.SubnetTypePrivate, CidrBlocks: []string{"10.0.0.0/24"}},
			{Type: awsxec2.SubnetTypePublic, CidrBlocks: []string{"10.0.2.0/24", "10.0.3.0/24"}}},
		"explicit and not": {{Type: awsxec2.SubnetTypePrivate, CidrBlocks: []string{"10.0.0.0/24", "10.0.1.0/24"}},
			{Type: awsxec2.SubnetTypePublic, CidrMask: pulumi.IntRef(24)}},
		"mask disagrees": {{Type: awsxec2.SubnetTypePrivate, CidrMask: pulumi.IntRef(25), CidrBlocks: []string{"10.0.0.0/24", "10.0.1.0/24"}},
			{Type: awsxec2.SubnetTypePublic, CidrBlocks: []string{"10.0.2.0/24", "10.0.3.0/24"}}},
	} {
		_, err := planVpcOnly(t, &awsxec2.VpcArgs{
			CidrBlock: pulumi.StringRef("10.0.0.0/16"), AvailabilityZoneNames: []string{"a", "b"},
			SubnetStrategy: ptr(awsxec2.SubnetAllocationStrategyAuto), SubnetSpecs: specs,
		})
		assert.ErrorContainsf(t, err, "Invalid subnet specifications", "%s", name)
	}
}

func TestAwsxModelRefusesWhatItDoesNotModel(t *testing.T) {
	// awsx's default strategy is Legacy, which the model does not implement: it says so
	// rather than guessing a layout.
	legacy := theOldSpecs()
	legacy.SubnetStrategy = nil
	_, err := planVpcOnly(t, legacy)
	assert.ErrorContains(t, err, "Legacy")

	noZones := theOldSpecs()
	noZones.AvailabilityZoneNames = nil
	_, err = planVpcOnly(t, noZones)
	assert.ErrorContains(t, err, "availabilityZoneNames")
}

func TestAwsxNeedsPublicAndPrivateSubnetsForNat(t *testing.T) {
	_, err := planVpcOnly(t, &awsxec2.VpcArgs{
		CidrBlock: pulumi.StringRef("10.0.0.0/16"), AvailabilityZoneNames: []string{"a", "b"},
		SubnetStrategy: ptr(awsxec2.SubnetAllocationStrategyAuto),
		SubnetSpecs:    []awsxec2.SubnetSpecArgs{{Type: awsxec2.SubnetTypeIsolated, CidrMask: pulumi.IntRef(24)}},
	})
	assert.ErrorContains(t, err, "both private and public subnets must be declared")
}

func TestModeledVpcChildrenOfTheStack(t *testing.T) {
	p := planOfFile(t, "production")
	component := p.one(t, awsxVpcType, "vpc")
	vpc := p.one(t, "aws:ec2/vpc:Vpc", "vpc")
	igw := p.one(t, "aws:ec2/internetGateway:InternetGateway", "vpc")

	counts := map[string]int{}
	for _, r := range p.Resources {
		if r.ModeledBy != "" {
			assert.Equal(t, awsxVpcType, r.ModeledBy)
			assert.Equalf(t, component.Provider, r.Provider, "%s %s uses the component's provider", r.Type, r.Name)
			counts[r.Type[strings.LastIndex(r.Type, ":")+1:]]++
		}
	}
	assert.Equal(t, map[string]int{"Vpc": 1, "InternetGateway": 1, "Subnet": 6, "RouteTable": 6,
		"RouteTableAssociation": 6, "Route": 4, "Eip": 2, "NatGateway": 2}, counts)

	assert.Equal(t, component.URN, vpc.Parent)
	assert.Equal(t, "10.0.0.0/16", vpc.in("cidrBlock"))
	assert.True(t, vpc.flag("enableDnsHostnames"))
	assert.Equal(t, "coldchain-production", vpc.obj("tags")["Name"])
	assert.Equal(t, vpc.URN, igw.Parent)
	assert.Equal(t, []string{vpc.URN}, igw.DependsOn)

	for zone := 1; zone <= 2; zone++ {
		n := func(kind string) string { return "vpc-" + kind + "-" + string(rune('0'+zone)) }
		public := p.one(t, "aws:ec2/subnet:Subnet", n("public"))
		table := p.one(t, "aws:ec2/routeTable:RouteTable", n("private"))
		assoc := p.one(t, "aws:ec2/routeTableAssociation:RouteTableAssociation", n("private"))
		private := p.one(t, "aws:ec2/subnet:Subnet", n("private"))
		nat := p.one(t, "aws:ec2/natGateway:NatGateway", "vpc-"+string(rune('0'+zone)))
		eip := p.one(t, "aws:ec2/eip:Eip", "vpc-"+string(rune('0'+zone)))
		route := p.one(t, "aws:ec2/route:Route", n("private"))

		assert.Equal(t, private.URN, table.Parent, "a route table is the child of its subnet")
		assert.Equal(t, table.URN, assoc.Parent)
		assert.ElementsMatch(t, []string{private.URN, table.URN}, assoc.DependsOn)
		assert.Equal(t, private.ID, assoc.in("subnetId"))
		assert.Equal(t, table.ID, assoc.in("routeTableId"))
		assert.Equal(t, public.URN, nat.Parent, "the NAT gateway is the child of its public subnet")
		assert.Equal(t, eip.Outputs["allocationId"], nat.in("allocationId"))
		assert.Contains(t, nat.DependsOn, eip.URN)
		assert.Equal(t, nat.ID, route.in("natGatewayId"), "OnePerAz: zone %d routes to its own NAT gateway", zone)
		assert.Equal(t, "0.0.0.0/0", route.in("destinationCidrBlock"))
		assert.Equal(t, igw.ID, p.one(t, "aws:ec2/route:Route", n("public")).in("gatewayId"))
		assert.Nil(t, p.byTypeName("aws:ec2/route:Route", n("isolated")), "isolated subnets have no route")
	}

	// The component's outputs are its children's ids, in zone order.
	assert.Equal(t, vpc.ID, p.Outputs["vpcId"])
	var privateIDs []any
	for _, name := range []string{"vpc-private-1", "vpc-private-2"} {
		privateIDs = append(privateIDs, p.one(t, "aws:ec2/subnet:Subnet", name).ID)
	}
	assert.Equal(t, privateIDs, p.Outputs["privateSubnetIds"])
	assert.Equal(t, privateIDs, p.one(t, serviceType, "backend").obj("networkConfiguration")["subnets"],
		"the tasks run in the modeled private subnets")
}

func TestUsersOfTheVpcWaitForAllItsChildren(t *testing.T) {
	// A resource that reads an output of a remote component waits for the whole component: its
	// outputs resolve only once its provider has registered every child.
	p := planOfFile(t, "production")
	sg := p.one(t, sgType, "alb-sg")
	for _, r := range p.Resources {
		if r.ModeledBy != "" {
			assert.Containsf(t, sg.DependsOn, r.URN, "alb-sg does not wait for %s %s", r.Type, r.Name)
		}
	}
}

func TestModeledResourcesAreMarkedInJSONAndTree(t *testing.T) {
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
