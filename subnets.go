package main

import (
	"fmt"
	"math/bits"
	"net/netip"
	"sort"
)

// This file computes the subnet layout of the VPC. The layout is ours, not awsx's: every
// subnet's CIDR is computed here and handed to awsx as explicit cidrBlocks, which awsx takes
// verbatim (getSubnetSpecsExplicit in pulumi-awsx's subnetDistributorNew.ts), so the component
// makes no choice of its own that a plan could not see. (Its "Auto" strategy places each
// subnet of a zone after the previous one, aligned to its own size; with our sizes in the
// order public, private, isolated that pushed zone 1's isolated subnet onto zone 2's public one
// and zone 2's isolated subnet out of the VPC.)

// subnetTier is one kind of subnet, present once in every zone.
type subnetTier struct {
	// name is the awsx spec name: the subnets are named "<vpc>-<name>-<zone number>".
	name string
	// awsxType is awsx's SubnetType: Public, Private or Isolated.
	awsxType string
	// extraBits is the subnet's prefix length relative to the VPC's: a subnet of a /16 VPC
	// with extraBits 2 is a /18, a quarter of the VPC.
	extraBits int
	// holds says what lives there, for error messages.
	holds string
}

// subnetTiers are the subnets of every zone. Each zone gets half of the VPC (two zones); in it
// the private subnet (the tasks) gets a quarter of the VPC, the public (load balancer, NAT
// gateway) and isolated (database, cache) subnets a sixteenth each. For the seed's /16 that is
// /18 private and /20 public and isolated, the sizes the Terraform setup had; the remaining
// eighth of the VPC per zone stays free for later tiers (VPC endpoints, a second database).
var subnetTiers = []subnetTier{
	{name: "public", awsxType: "Public", extraBits: 4, holds: "the load balancer and the NAT gateway"},
	{name: "private", awsxType: "Private", extraBits: 2, holds: "the tasks"},
	{name: "isolated", awsxType: "Isolated", extraBits: 4, holds: "the database and the cache"},
}

// awsReservedAddresses are the addresses AWS keeps in every subnet: the network address, the
// VPC router, DNS, one for future use, and the broadcast address.
const awsReservedAddresses = 5

// albMinSubnetBits and albMinFreeAddresses are what an application load balancer needs of each
// of its subnets: at least a /27 with at least 8 free addresses, so it can scale.
const (
	albMinSubnetBits    = 27
	albMinFreeAddresses = 8
)

// subnetLayout is every subnet of the VPC, per zone and tier.
type subnetLayout struct {
	vpc netip.Prefix
	// zones are the zones' blocks, in the order of the availability zones; nil for an
	// explicit layout, whose subnets need not share a block per zone.
	zones     []netip.Prefix
	zoneCount int
	// subnets holds, per tier name, the subnet of each zone in zone order.
	subnets map[string][]netip.Prefix
}

// newSubnetLayout lays out the subnets of a VPC over a number of zones and checks the result:
// every subnet inside the VPC and inside its zone's block, no two overlapping, each large
// enough for what lives there. explicit, when not nil, gives every tier's subnets instead, one
// per zone in zone order (an adopted VPC's own); they are checked the same way, but for the
// zone blocks, which only the computed layout has.
func newSubnetLayout(vpcCidr string, zoneCount int, explicit map[string][]string) (*subnetLayout, error) {
	vpc, err := netip.ParsePrefix(vpcCidr)
	if err != nil || !vpc.Addr().Is4() || vpc.Masked() != vpc {
		return nil, fmt.Errorf("subnet layout: %q is not an IPv4 network address", vpcCidr)
	}
	if zoneCount < 1 {
		return nil, fmt.Errorf("subnet layout: %d zones", zoneCount)
	}
	l := &subnetLayout{vpc: vpc, subnets: map[string][]netip.Prefix{}}
	if explicit != nil {
		for _, t := range subnetTiers {
			for _, c := range explicit[t.name] {
				b, err := netip.ParsePrefix(c)
				if err != nil || !b.Addr().Is4() || b.Masked() != b {
					return nil, fmt.Errorf("subnet layout: %s subnet %q is not an IPv4 network address", t.name, c)
				}
				l.subnets[t.name] = append(l.subnets[t.name], b)
			}
		}
		l.zoneCount = zoneCount
		return l, l.check()
	}
	zoneBits := vpc.Bits() + ceilLog2(zoneCount)
	for i := range zoneCount {
		zone, err := nthBlock(vpc, zoneBits, i)
		if err != nil {
			return nil, err
		}
		l.zones = append(l.zones, zone)
		// Largest first: blocks of sizes that are powers of two, placed one after the other
		// in decreasing size, are each aligned to their own size and leave no gaps.
		tiers := append([]subnetTier{}, subnetTiers...)
		sort.SliceStable(tiers, func(a, b int) bool { return tiers[a].extraBits < tiers[b].extraBits })
		next := zone.Addr()
		for _, t := range tiers {
			subnet := netip.PrefixFrom(next, vpc.Bits()+t.extraBits)
			l.subnets[t.name] = append(l.subnets[t.name], subnet)
			next = addrAfter(subnet)
		}
	}
	l.zoneCount = zoneCount
	if err := l.check(); err != nil {
		return nil, err
	}
	return l, nil
}

// check verifies the layout's invariants; newSubnetLayout calls it on every layout it makes.
func (l *subnetLayout) check() error {
	type placed struct {
		name   string
		prefix netip.Prefix
	}
	var all []placed
	for _, t := range subnetTiers {
		blocks := l.subnets[t.name]
		if len(blocks) != l.zoneCount {
			return fmt.Errorf("subnet layout of %s: %d %s subnets for %d zones", l.vpc, len(blocks), t.name, l.zoneCount)
		}
		for i, b := range blocks {
			name := fmt.Sprintf("%s-%d (%s)", t.name, i+1, b)
			switch {
			case !contains(l.vpc, b):
				return fmt.Errorf("subnet layout: %s lies outside the VPC %s", name, l.vpc)
			case l.zones != nil && !contains(l.zones[i], b):
				return fmt.Errorf("subnet layout: %s lies outside its zone's block %s", name, l.zones[i])
			}
			all = append(all, placed{name, b})
		}
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[i].prefix.Overlaps(all[j].prefix) {
				return fmt.Errorf("subnet layout: %s overlaps %s", all[i].name, all[j].name)
			}
		}
	}
	// The public subnets hold the load balancer's nodes and a NAT gateway each.
	for _, b := range l.subnets["public"] {
		if b.Bits() > albMinSubnetBits || usableAddresses(b)-1 < albMinFreeAddresses {
			return fmt.Errorf("subnet layout: public subnet %s is smaller than the /%d with %d free addresses a load balancer needs",
				b, albMinSubnetBits, albMinFreeAddresses)
		}
	}
	return nil
}

// cidrBlocks are a tier's subnets in zone order, as awsx's SubnetSpec.cidrBlocks takes them.
func (l *subnetLayout) cidrBlocks(tier string) []string {
	var out []string
	for _, b := range l.subnets[tier] {
		out = append(out, b.String())
	}
	return out
}

// privateCapacity is how many task addresses the smallest private subnet offers.
func (l *subnetLayout) privateCapacity() int {
	capacity := usableAddresses(l.subnets["private"][0])
	for _, b := range l.subnets["private"][1:] {
		capacity = min(capacity, usableAddresses(b))
	}
	return capacity
}

// cidrMask is the prefix length of a tier's subnets, for awsx's cidrMask, when they all have
// the same; awsx takes no mask for blocks of several sizes.
func (l *subnetLayout) cidrMask(tier string) *int {
	blocks := l.subnets[tier]
	for _, b := range blocks[1:] {
		if b.Bits() != blocks[0].Bits() {
			return nil
		}
	}
	bits := blocks[0].Bits()
	return &bits
}

// taskAddressesNeeded is how many addresses of one private subnet the tasks may take at once:
// every task at its service's maximum, doubled by a rolling deployment (maximum percent 200),
// all in one zone when the other zone is down.
func taskAddressesNeeded(maxTasks ...int) int {
	total := 0
	for _, n := range maxTasks {
		total += n
	}
	return 2 * total
}

// usableAddresses is the number of addresses of a subnet AWS lets resources use.
func usableAddresses(p netip.Prefix) int {
	return (1 << (32 - p.Bits())) - awsReservedAddresses
}

// nthBlock is the i-th block of prefix length bits inside parent.
func nthBlock(parent netip.Prefix, bits, i int) (netip.Prefix, error) {
	size := uint64(1) << (32 - bits)
	base := uint64(addrUint(parent.Addr())) + uint64(i)*size
	block := netip.PrefixFrom(uintAddr(uint32(base)), bits)
	if base > 0xffffffff || !contains(parent, block) {
		return netip.Prefix{}, fmt.Errorf("subnet layout: block %d of /%d does not fit in %s", i, bits, parent)
	}
	return block, nil
}

// contains is true when inner lies entirely inside outer.
func contains(outer, inner netip.Prefix) bool {
	return inner.Bits() >= outer.Bits() && outer.Contains(inner.Addr())
}

// addrAfter is the first address after a block.
func addrAfter(p netip.Prefix) netip.Addr {
	return uintAddr(addrUint(p.Addr()) + uint32(1)<<(32-p.Bits()))
}

func addrUint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func uintAddr(n uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// ceilLog2 is the number of bits needed to number n blocks: 1 for 2 zones, 2 for 3 or 4.
func ceilLog2(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// freeBlocks finds n blocks of a VPC that overlap none of the taken ranges, for subnets added
// beside a VPC's existing ones: the largest size from the program's own for the tier down to
// the smallest that still holds need addresses, aligned to its size, lowest first. It returns
// nil when the VPC has no room for n of them.
func freeBlocks(vpc netip.Prefix, taken []netip.Prefix, extraBits, need, n int) []netip.Prefix {
	for bits := vpc.Bits() + extraBits; bits <= 28 && usableAddresses(netip.PrefixFrom(vpc.Addr(), bits)) >= need; bits++ {
		var found []netip.Prefix
		for i := 0; len(found) < n; i++ {
			block, err := nthBlock(vpc, bits, i)
			if err != nil {
				break
			}
			free := true
			for _, t := range taken {
				free = free && !t.Overlaps(block)
			}
			if free {
				found = append(found, block)
			}
		}
		if len(found) == n {
			return found
		}
	}
	return nil
}

// availabilityZoneCount is how many zones the network spans: the first two of the region that
// need no opt-in.
const availabilityZoneCount = 2
