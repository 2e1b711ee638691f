package offline

import (
	"net/netip"
	"testing"

	awsxec2 "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests hold the engine's model of the awsx VPC (awsxvpc.go) to awsx's own
// behaviour, as read in pulumi-awsx v2.22.0's vpc.ts and subnetDistributorNew.ts.

// planVpcOnly runs a program that registers nothing but an awsx VPC with the given arguments.
func planVpcOnly(t *testing.T, args *awsxec2.VpcArgs) (*Plan, error) {
	t.Helper()
	return Run("test", "test", nil, func(ctx *pulumi.Context) error {
		_, err := awsxec2.NewVpc(ctx, "vpc", args)
		return err
	})
}

// theOldSpecs are the subnet specs the program handed awsx before it computed the layout itself:
// masks only, in the order public /20, private /18, isolated /20, with /17 zones.
func theOldSpecs() *awsxec2.VpcArgs {
	return &awsxec2.VpcArgs{
		CidrBlock:                pulumi.StringRef("10.0.0.0/16"),
		AvailabilityZoneNames:    []string{"ap-northeast-2a", "ap-northeast-2b"},
		AvailabilityZoneCidrMask: pulumi.IntRef(17),
		SubnetStrategy:           strategy(awsxec2.SubnetAllocationStrategyAuto),
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
		SubnetStrategy:        strategy(awsxec2.SubnetAllocationStrategyAuto),
		SubnetSpecs: []awsxec2.SubnetSpecArgs{
			{Type: awsxec2.SubnetTypePrivate, CidrBlocks: []string{"10.9.0.0/24", "10.9.1.0/24"}},
			{Type: awsxec2.SubnetTypePublic, Name: pulumi.StringRef("edge"), CidrBlocks: []string{"10.9.2.0/28", "10.9.3.0/28"}},
		},
		NatGateways: &awsxec2.NatGatewayConfigurationArgs{Strategy: awsxec2.NatGatewayStrategySingle},
		Tags:        pulumi.StringMap{"Team": pulumi.String("dispatch")},
	})
	require.NoError(t, err)
	subnets := map[string]*PlanResource{}
	for _, s := range p.All("aws:ec2/subnet:Subnet") {
		subnets[s.Name] = s
	}
	require.Len(t, subnets, 4)
	assert.Equal(t, "10.9.1.0/24", subnets["vpc-private-2"].In("cidrBlock"))
	assert.Equal(t, "10.9.2.0/28", subnets["vpc-edge-1"].In("cidrBlock"), "a spec's name replaces its type in the subnet's name")
	assert.Equal(t, "ap-northeast-2b", subnets["vpc-edge-2"].In("availabilityZone"))
	assert.True(t, subnets["vpc-edge-1"].Flag("mapPublicIpOnLaunch"))
	assert.False(t, subnets["vpc-private-1"].Flag("mapPublicIpOnLaunch"))
	assert.Equal(t, map[string]any{"Name": "vpc-edge-1", "SubnetType": "Public", "Team": "dispatch"}, subnets["vpc-edge-1"].Obj("tags"))
	assert.Equal(t, map[string]any{"Name": "vpc", "Team": "dispatch"}, p.One(t, "aws:ec2/vpc:Vpc", "vpc").Obj("tags"))
	// Single: one NAT gateway, in zone 1's public subnet, for both private subnets.
	require.Len(t, p.All("aws:ec2/natGateway:NatGateway"), 1)
	nat := p.One(t, "aws:ec2/natGateway:NatGateway", "vpc-1")
	assert.Equal(t, subnets["vpc-edge-1"].ID, nat.In("subnetId"))
	assert.Equal(t, map[string]any{"Name": "vpc-1", "Team": "dispatch"}, nat.Obj("tags"))
	for _, name := range []string{"vpc-private-1", "vpc-private-2"} {
		assert.Equal(t, nat.ID, p.One(t, "aws:ec2/route:Route", name).In("natGatewayId"))
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
			SubnetStrategy: strategy(awsxec2.SubnetAllocationStrategyAuto), SubnetSpecs: specs,
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
		SubnetStrategy: strategy(awsxec2.SubnetAllocationStrategyAuto),
		SubnetSpecs:    []awsxec2.SubnetSpecArgs{{Type: awsxec2.SubnetTypeIsolated, CidrMask: pulumi.IntRef(24)}},
	})
	assert.ErrorContains(t, err, "both private and public subnets must be declared")
}

func strategy(s awsxec2.SubnetAllocationStrategy) *awsxec2.SubnetAllocationStrategy { return &s }

func TestStackFileValuesReachTheProgramAsTheCLIPassesThem(t *testing.T) {
	assert.Equal(t, SecretPlaceholder, configString(map[string]any{"secure": "AAABAJ..."}))
	assert.Equal(t, "1024", configString(1024))
	assert.Equal(t, "true", configString(true))
	assert.Equal(t, `{"Team":"dispatch"}`, configString(map[string]any{"Team": "dispatch"}))
	assert.Equal(t, `["/api/*"]`, configString([]any{"/api/*"}))
}
