package offline

import (
	"fmt"
	"math/bits"
	"net/netip"
	"sort"
	"strings"
)

// This file is a model of the children the awsx VPC component
// (pulumi-awsx v2.22.0, awsx/ec2/vpc.ts and subnetDistributorNew.ts) registers inside its own
// provider. Under mocks a remote component registers only itself, so without this model a plan
// would show a VPC whose subnets, routes and NAT gateways nobody computed. The model follows
// awsx's code step by step: its subnet allocation, its validations (which fail "pulumi preview"
// before anything is created), and the names, parents, inputs and dependencies of every child.
// What it does not model (IPAM pools, VPC endpoints, the Legacy strategy, default zones, given
// Elastic IPs) it refuses by name instead of guessing.

// awsxVpcType is the type token of the awsx VPC component.
const awsxVpcType = "awsx:ec2:Vpc"

// awsxFails is the error awsx throws, with its own message, as "pulumi preview" would show it.
func awsxFails(message string) error {
	return fmt.Errorf("%s: %s", awsxVpcType, message)
}

// awsxSubnet is one subnet awsx decided on: getSubnetSpecs' SubnetSpec.
type awsxSubnet struct {
	cidr     netip.Prefix
	kind     string // Public, Private, Isolated or Unused
	azName   string
	azIndex  int
	name     string
	specTags map[string]any
}

// awsxSubnetInput is one entry of the component's subnetSpecs input.
type awsxSubnetInput struct {
	kind       string
	name       string
	cidrMask   int // 0 when unset
	size       int // 0 when unset
	cidrBlocks []string
	tags       map[string]any
}

// modelAwsxVpc registers what awsx's Vpc constructor registers and returns the component's
// outputs that derive from them.
func modelAwsxVpc(m *modelContext) (map[string]any, error) {
	in := m.inputs
	for _, key := range []string{"ipv4IpamPoolId", "ipv4NetmaskLength", "vpcEndpointSpecs", "numberOfAvailabilityZones"} {
		if present(in[key]) {
			return nil, fmt.Errorf("offline engine: the %s model does not cover %s; plan it with a real preview", awsxVpcType, key)
		}
	}
	azs := stringList(in["availabilityZoneNames"])
	if len(azs) == 0 {
		return nil, fmt.Errorf("offline engine: the %s model needs availabilityZoneNames (awsx would look the zones up itself)", awsxVpcType)
	}
	nat := "OnePerAz"
	if n, ok := in["natGateways"].(map[string]any); ok {
		if s, ok := n["strategy"].(string); ok && s != "" {
			nat = s
		}
		if present(n["elasticIpAllocationIds"]) {
			return nil, fmt.Errorf("offline engine: the %s model does not cover natGateways.elasticIpAllocationIds", awsxVpcType)
		}
	}
	switch strings.ToLower(nat) {
	case "none", "single", "oneperaz":
	default:
		return nil, awsxFails(fmt.Sprintf("Unknown NatGatewayStrategy '%s'", nat))
	}
	strategy := "Legacy" // vpc.ts: args.subnetStrategy ?? "Legacy"
	if s, ok := in["subnetStrategy"].(string); ok && s != "" {
		strategy = s
	}
	cidr := "10.0.0.0/16" // vpc.ts: decideCidrBlockVpcInput's historical default
	if s, ok := in["cidrBlock"].(string); ok && s != "" {
		cidr = s
	}
	vpcCidr, err := netip.ParsePrefix(cidr)
	if err != nil || !vpcCidr.Addr().Is4() {
		return nil, fmt.Errorf("offline engine: %s cidrBlock %q is not an IPv4 CIDR", awsxVpcType, cidr)
	}

	inputs, explicit, err := normalizeAwsxSubnetInputs(in["subnetSpecs"], len(azs))
	if err != nil {
		return nil, err
	}
	var subnets []awsxSubnet
	switch {
	case strategy == "Legacy":
		return nil, fmt.Errorf("offline engine: the %s model does not cover subnetStrategy Legacy (awsx's default); set Auto or Exact", awsxVpcType)
	case explicit:
		subnets = awsxExplicitSubnets(m.name, azs, inputs)
	default:
		azMask := 0
		if n, ok := in["availabilityZoneCidrMask"].(float64); ok {
			azMask = int(n)
		}
		if subnets, err = awsxAutoSubnets(m.name, vpcCidr.Masked(), azs, inputs, azMask); err != nil {
			return nil, err
		}
	}
	if err := validateAwsxSubnets(subnets, strategy, vpcCidr.Masked(), nat); err != nil {
		return nil, err
	}
	return registerAwsxVpcChildren(m, azs, subnets, nat, cidr)
}

// normalizeAwsxSubnetInputs is awsx's validateAndNormalizeSubnetInputs: all specs explicit or
// none, one CIDR block per zone, masks and sizes that agree with the blocks.
func normalizeAwsxSubnetInputs(raw any, azCount int) ([]awsxSubnetInput, bool, error) {
	list, _ := raw.([]any)
	if raw == nil {
		return nil, false, nil
	}
	var specs []awsxSubnetInput
	for _, item := range list {
		m, _ := item.(map[string]any)
		s := awsxSubnetInput{tags: mapOf(m["tags"])}
		s.kind, _ = m["type"].(string)
		s.name, _ = m["name"].(string)
		if n, ok := m["cidrMask"].(float64); ok {
			s.cidrMask = int(n)
		}
		if n, ok := m["size"].(float64); ok {
			s.size = int(n)
		}
		s.cidrBlocks = stringList(m["cidrBlocks"])
		specs = append(specs, s)
	}
	var issues []string
	explicit := false
	for _, s := range specs {
		if s.size != 0 && (s.size&(s.size-1) != 0 || s.size < 4) {
			issues = append(issues, fmt.Sprintf("The following subnet sizes are invalid: %d.", s.size))
		}
		explicit = explicit || s.cidrBlocks != nil
	}
	if explicit {
		for i, s := range specs {
			if s.cidrBlocks == nil {
				issues = append(issues, "If any subnet spec has explicit cidrBlocks, all subnets must have explicit cidrBlocks.")
				continue
			}
			if len(s.cidrBlocks) != azCount {
				issues = append(issues, fmt.Sprintf("The number of CIDR blocks in subnetSpecs[%d] must match the number of availability zones (%d).", i, azCount))
				continue
			}
			for _, b := range s.cidrBlocks {
				p, err := netip.ParsePrefix(b)
				switch {
				case err != nil:
					issues = append(issues, fmt.Sprintf("subnetSpecs[%d] has CIDR block %q, which is not a CIDR", i, b))
				case s.cidrMask != 0 && p.Bits() != s.cidrMask:
					issues = append(issues, fmt.Sprintf("The cidrMask in subnetSpecs[%d] must match all cidrBlocks or be left undefined.", i))
				case s.size != 0 && 1<<(32-p.Bits()) != s.size:
					issues = append(issues, fmt.Sprintf("The size in subnetSpecs[%d] must match all cidrBlocks or be left undefined.", i))
				}
			}
		}
	} else {
		for i, s := range specs {
			if s.cidrMask == 0 && s.size != 0 {
				specs[i].cidrMask = 32 - ceilLog2(s.size)
			} else if s.cidrMask != 0 && s.size != 0 && 1<<(32-s.cidrMask) != s.size {
				issues = append(issues, fmt.Sprintf("Subnet size %d does not match the expected size for a /%d subnet (%d).", s.size, s.cidrMask, 1<<(32-s.cidrMask)))
			}
		}
	}
	if len(issues) > 0 {
		return nil, false, awsxFails("Invalid subnet specifications:\n - " + strings.Join(issues, "\n - "))
	}
	return specs, explicit, nil
}

// awsxSubnetName is awsx's subnetName: "<vpc>-<spec name or type>-<zone number>".
func awsxSubnetName(vpcName string, s awsxSubnetInput, azNum int) string {
	name := s.name
	if name == "" {
		name = strings.ToLower(s.kind)
	}
	return fmt.Sprintf("%s-%s-%d", vpcName, name, azNum)
}

// awsxExplicitSubnets is getSubnetSpecsExplicit: each spec's i-th block in the i-th zone.
func awsxExplicitSubnets(vpcName string, azs []string, specs []awsxSubnetInput) []awsxSubnet {
	var out []awsxSubnet
	for i, az := range azs {
		for _, s := range specs {
			out = append(out, awsxSubnet{cidr: netip.MustParsePrefix(s.cidrBlocks[i]), kind: s.kind, azName: az, azIndex: i,
				name: awsxSubnetName(vpcName, s, i+1), specTags: s.tags})
		}
	}
	return out
}

// awsxAutoSubnets is getSubnetSpecs, the Auto and Exact strategies: each zone starts at its
// own block (the VPC split per zone, or availabilityZoneCidrMask), and each subnet of a zone is
// placed after the previous one, aligned to its own size (nextNetmask).
func awsxAutoSubnets(vpcName string, vpc netip.Prefix, azs []string, specs []awsxSubnetInput, azMask int) ([]awsxSubnet, error) {
	azBits := azMask
	if azBits == 0 {
		azBits = vpc.Bits() + ceilLog2(len(azs))
	}
	if specs == nil {
		if azBits > 26 {
			return nil, awsxFails(fmt.Sprintf("Automatic subnet creation requires a VPC with at least /26 available per AZ, but only /%d is available.", azBits))
		}
		top := max(azBits, 16)
		specs = []awsxSubnetInput{{kind: "Private", cidrMask: top + 1}, {kind: "Public", cidrMask: top + 2}}
	}
	defaultBits := azBits + ceilLog2(len(specs))
	maskOf := func(s awsxSubnetInput) int {
		if s.cidrMask != 0 {
			return s.cidrMask
		}
		return defaultBits
	}
	azSize, total := uint64(1)<<(32-azBits), uint64(0)
	for _, s := range specs {
		total += uint64(1) << (32 - maskOf(s))
	}
	if total > azSize {
		return nil, awsxFails(fmt.Sprintf("Subnets are too large for VPC. VPC has %d addresses, but subnets require %d addresses.", azSize, total))
	}
	var out []awsxSubnet
	zone := uint64(addrUint(vpc.Addr())) &^ (azSize - 1)
	for i, az := range azs {
		var current netip.Prefix
		for j, s := range specs {
			if j == 0 {
				current = netip.PrefixFrom(uint64Addr(zone), maskOf(s)).Masked()
			} else {
				// nextNetmask: the block of the new size holding the previous block's last
				// address, then the block after it.
				last := uint64(addrUint(current.Addr())) + uint64(1)<<(32-current.Bits()) - 1
				size := uint64(1) << (32 - maskOf(s))
				current = netip.PrefixFrom(uint64Addr(last&^(size-1)+size), maskOf(s))
			}
			out = append(out, awsxSubnet{cidr: current, kind: s.kind, azName: az, azIndex: i,
				name: awsxSubnetName(vpcName, s, i+1), specTags: s.tags})
		}
		zone += azSize
	}
	return out, nil
}

// uint64Addr is an IPv4 address from a number, wrapping past 255.255.255.255 as netmask does.
func uint64Addr(n uint64) netip.Addr { return uintAddr(uint32(n)) }

// validateAwsxSubnets runs awsx's checks of decideAndValidateSubnetSpecs: no overlapping
// subnets (validateSubnets), no gaps under Exact (validateNoGaps), and public and private
// subnets for a NAT strategy other than None (validateNatGatewayStrategy).
func validateAwsxSubnets(subnets []awsxSubnet, strategy string, vpc netip.Prefix, nat string) error {
	var overlapping []awsxSubnet
	for i, a := range subnets {
		for j, b := range subnets {
			if i != j && a.cidr.Overlaps(b.cidr) {
				overlapping = append(overlapping, a)
				break
			}
		}
	}
	if len(overlapping) > 0 {
		msg := "The following subnets overlap with at least one other subnet. Make the CIDR for the VPC larger, " +
			"reduce the size of the subnets per AZ, or use less Availability Zones:\n\n"
		for i, s := range overlapping {
			msg += fmt.Sprintf("%d. %s: %s\n", i+1, s.name, s.cidr)
		}
		return awsxFails(msg)
	}
	if strategy == "Exact" {
		next := vpc.Addr()
		for _, s := range subnets {
			if s.cidr.Addr() != next {
				return awsxFails(fmt.Sprintf("There are gaps in the subnet ranges. Please fix the following gaps: %s (%s)", s.name, s.cidr))
			}
			next = addrAfter(s.cidr)
		}
		if next != addrAfter(vpc) {
			return awsxFails(fmt.Sprintf("There are gaps in the subnet ranges: the subnets end before the VPC %s ends", vpc))
		}
	}
	if strings.ToLower(nat) != "none" {
		hasPublic, hasPrivate := false, false
		for _, s := range subnets {
			hasPublic = hasPublic || strings.EqualFold(s.kind, "public")
			hasPrivate = hasPrivate || strings.EqualFold(s.kind, "private")
		}
		if !hasPublic || !hasPrivate {
			return awsxFails("If NAT Gateway strategy is 'OnePerAz' or 'Single', both private and public subnets must be declared. " +
				"The private subnet creates the need for a NAT Gateway, and the public subnet is required to host the NAT Gateway resource.")
		}
	}
	return nil
}

// awsxTypeRank is compareSubnetSpecs' order within a zone: public, private, isolated.
func awsxTypeRank(kind string) int {
	switch strings.ToLower(kind) {
	case "public":
		return 0
	case "private":
		return 1
	}
	return 2
}

// registerAwsxVpcChildren is the body of awsx's Vpc.initialize: the VPC, the internet gateway,
// and per zone, public subnets first, each subnet with its route table and association, the
// zone's Elastic IP and NAT gateway (by strategy), and the default routes.
func registerAwsxVpcChildren(m *modelContext, azs []string, subnets []awsxSubnet, nat, cidr string) (map[string]any, error) {
	name, in := m.name, m.inputs
	userTags := mapOf(in["tags"])
	shared := merge(map[string]any{"Name": name}, userTags)

	vpcInputs := map[string]any{"cidrBlock": cidr, "tags": shared}
	// vpc.ts spreads the component's arguments into aws.ec2.Vpc; these are the ones it takes.
	for _, key := range []string{"enableDnsHostnames", "enableDnsSupport", "instanceTenancy", "enableNetworkAddressUsageMetrics",
		"assignGeneratedIpv6CidrBlock", "ipv6CidrBlock", "ipv6IpamPoolId", "ipv6NetmaskLength", "ipv6CidrBlockNetworkBorderGroup"} {
		if present(in[key]) {
			vpcInputs[key] = in[key]
		}
	}
	vpc := m.register("aws:ec2/vpc:Vpc", name, m.component.URN, vpcInputs)
	igw := m.register("aws:ec2/internetGateway:InternetGateway", name, vpc.URN,
		map[string]any{"vpcId": vpc.ID, "tags": shared}, vpc)

	ids := map[string][]any{"public": {}, "private": {}, "isolated": {}}
	var natGateways, eips []*PlanResource
	for i, az := range azs {
		var zone []awsxSubnet
		for _, s := range subnets {
			if s.azName == az && s.kind != "Unused" {
				zone = append(zone, s)
			}
		}
		sort.SliceStable(zone, func(a, b int) bool { return awsxTypeRank(zone[a].kind) < awsxTypeRank(zone[b].kind) })
		for _, s := range zone {
			kind := strings.ToLower(s.kind)
			subnet := m.register("aws:ec2/subnet:Subnet", s.name, vpc.URN, map[string]any{
				"vpcId": vpc.ID, "availabilityZone": az, "mapPublicIpOnLaunch": kind == "public", "cidrBlock": s.cidr.String(),
				"tags": merge(shared, s.specTags, map[string]any{"Name": s.name, "SubnetType": s.kind}),
			}, vpc)
			if _, ok := ids[kind]; !ok {
				kind = "isolated" // vpc.ts: anything neither public nor private counts as isolated
			}
			ids[kind] = append(ids[kind], subnet.ID)

			table := m.register("aws:ec2/routeTable:RouteTable", s.name, subnet.URN, map[string]any{
				"vpcId": vpc.ID, "tags": merge(shared, map[string]any{"Name": s.name, "SubnetType": s.kind}),
			}, subnet, vpc)
			m.register("aws:ec2/routeTableAssociation:RouteTableAssociation", s.name, table.URN,
				map[string]any{"routeTableId": table.ID, "subnetId": subnet.ID}, table, subnet)

			if kind == "public" && shouldCreateAwsxNat(nat, len(natGateways), i) {
				eipName := fmt.Sprintf("%s-%d", name, i+1)
				eip := m.register("aws:ec2/eip:Eip", eipName, subnet.URN,
					map[string]any{"tags": merge(userTags, map[string]any{"Name": eipName})}, subnet)
				eips = append(eips, eip)
				if i >= len(eips) {
					// vpc.ts reads eips[i], the zone's index: with a public subnet missing in an
					// earlier zone it would read past the list and fail.
					return nil, fmt.Errorf("offline engine: awsx would read the Elastic IP of zone %d, which it never created", i+1)
				}
				natGateways = append(natGateways, m.register("aws:ec2/natGateway:NatGateway", eipName, subnet.URN, map[string]any{
					"subnetId": subnet.ID, "allocationId": eips[i].Outputs["allocationId"],
					"tags": merge(userTags, map[string]any{"Name": eipName}),
				}, subnet, eips[i]))
			}
			switch {
			case kind == "public":
				m.register("aws:ec2/route:Route", s.name, table.URN, map[string]any{
					"routeTableId": table.ID, "gatewayId": igw.ID, "destinationCidrBlock": "0.0.0.0/0",
				}, table, igw)
			case kind == "private" && strings.ToLower(nat) != "none":
				target := 0
				if strings.ToLower(nat) == "oneperaz" {
					target = i
				}
				if target >= len(natGateways) {
					return nil, fmt.Errorf("offline engine: awsx would route %s to NAT gateway %d, which it never created", s.name, target+1)
				}
				m.register("aws:ec2/route:Route", s.name, table.URN, map[string]any{
					"routeTableId": table.ID, "natGatewayId": natGateways[target].ID, "destinationCidrBlock": "0.0.0.0/0",
				}, table, natGateways[target])
			}
			// Isolated subnets get no route: they reach nothing outside the VPC.
		}
	}
	return map[string]any{
		"vpcId":             vpc.ID,
		"publicSubnetIds":   ids["public"],
		"privateSubnetIds":  ids["private"],
		"isolatedSubnetIds": ids["isolated"],
	}, nil
}

// shouldCreateAwsxNat is awsx's shouldCreateNatGateway.
func shouldCreateAwsxNat(strategy string, existing, azIndex int) bool {
	switch strings.ToLower(strategy) {
	case "single":
		return existing < 1
	case "oneperaz":
		return existing < azIndex+1
	}
	return false
}

// present is true for a value that was set: not null, not an empty list or map.
func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func stringList(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := []string{}
	for _, item := range list {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// merge is JavaScript's object spread: later maps win.
func merge(maps ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// IPv4 arithmetic for the model, on addresses as numbers.

func addrUint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func uintAddr(n uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// addrAfter is the first address after a block.
func addrAfter(p netip.Prefix) netip.Addr {
	return uintAddr(addrUint(p.Addr()) + uint32(1)<<(32-p.Bits()))
}

// ceilLog2 is the number of bits that number n blocks (awsx's newBits).
func ceilLog2(n int) int {
	return bits.Len(uint(max(n, 1) - 1))
}
