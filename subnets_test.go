package main

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubnetLayoutOfTheSeedVPCKeepsItsSizes(t *testing.T) {
	t.Parallel()
	l, err := newSubnetLayout("10.0.0.0/16", 2, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.64.0/20", "10.0.192.0/20"}, l.cidrBlocks("public"))
	assert.Equal(t, []string{"10.0.0.0/18", "10.0.128.0/18"}, l.cidrBlocks("private"))
	assert.Equal(t, []string{"10.0.80.0/20", "10.0.208.0/20"}, l.cidrBlocks("isolated"))
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/17"), netip.MustParsePrefix("10.0.128.0/17")}, l.zones)
}

// TestSubnetLayoutFitsEveryVPCConfigAccepts walks every prefix length config accepts (/16 to
// /20) at several bases and checks, independently of newSubnetLayout's own check, that every
// subnet lies inside the VPC and its zone's half, that none overlap, and that each is large
// enough for what lives there.
func TestSubnetLayoutFitsEveryVPCConfigAccepts(t *testing.T) {
	t.Parallel()
	for bits := 16; bits <= 20; bits++ {
		for _, base := range []string{"10.0.0.0", "10.255.240.0", "172.16.0.0", "172.31.240.0", "192.168.0.0", "192.168.240.0"} {
			vpc := netip.PrefixFrom(netip.MustParseAddr(base), bits).Masked()
			if vpc.Addr().String() != base && bits < 20 {
				continue // the base is not aligned to this size: config refuses it
			}
			t.Run(vpc.String(), func(t *testing.T) {
				l, err := newSubnetLayout(vpc.String(), 2, nil)
				require.NoError(t, err)
				halves := []netip.Prefix{
					netip.PrefixFrom(vpc.Addr(), bits+1),
					netip.PrefixFrom(uintAddr(addrUint(vpc.Addr())+1<<(31-bits)), bits+1),
				}
				var all []netip.Prefix
				for _, tier := range subnetTiers {
					blocks := l.cidrBlocks(tier.name)
					require.Lenf(t, blocks, 2, "%s subnets", tier.name)
					for zone, s := range blocks {
						p := netip.MustParsePrefix(s)
						assert.Equalf(t, p.Masked(), p, "%s is not a network address", s)
						assert.Equalf(t, bits+tier.extraBits, p.Bits(), "%s subnet size", tier.name)
						assert.Truef(t, vpc.Contains(p.Addr()) && vpc.Contains(lastAddr(p)), "%s outside the VPC", s)
						assert.Truef(t, halves[zone].Contains(p.Addr()) && halves[zone].Contains(lastAddr(p)), "%s outside zone %d's %s", s, zone+1, halves[zone])
						all = append(all, p)
					}
				}
				for i := range all {
					for j := i + 1; j < len(all); j++ {
						assert.Falsef(t, all[i].Overlaps(all[j]), "%s overlaps %s", all[i], all[j])
					}
				}
				public := netip.MustParsePrefix(l.cidrBlocks("public")[0])
				assert.LessOrEqual(t, public.Bits(), 27, "an ALB needs at least a /27")
				assert.GreaterOrEqual(t, 1<<(32-public.Bits())-5-1, 8, "an ALB needs 8 free addresses beside the NAT gateway")
				// The largest fleet config accepts (100 + 100 tasks), doubled by a deployment,
				// fits one private subnet.
				assert.GreaterOrEqual(t, l.privateCapacity(), taskAddressesNeeded(100, 100))
			})
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	return uintAddr(addrUint(p.Addr()) | (1<<(32-p.Bits()) - 1))
}

func TestSubnetLayoutCheckCatchesBrokenLayouts(t *testing.T) {
	t.Parallel()
	for name, breakIt := range map[string]func(l *subnetLayout){
		"overlap":         func(l *subnetLayout) { l.subnets["isolated"][0] = l.subnets["public"][1] },
		"outside the VPC": func(l *subnetLayout) { l.subnets["isolated"][1] = netip.MustParsePrefix("10.1.0.0/20") },
		"outside its zone": func(l *subnetLayout) {
			l.subnets["public"][0], l.subnets["public"][1] = l.subnets["public"][1], l.subnets["public"][0]
		},
		"too small for ALB": func(l *subnetLayout) { l.subnets["public"][0] = netip.MustParsePrefix("10.0.64.0/28") },
		"a zone missing":    func(l *subnetLayout) { l.subnets["private"] = l.subnets["private"][:1] },
	} {
		l, err := newSubnetLayout("10.0.0.0/16", 2, nil)
		require.NoError(t, err)
		breakIt(l)
		assert.Errorf(t, l.check(), "check does not notice %s", name)
	}
}

func TestSubnetLayoutRefusesWhatItCannotLayOut(t *testing.T) {
	t.Parallel()
	for _, cidr := range []string{"10.0.0.1/16", "not a cidr", "fd00::/48"} {
		_, err := newSubnetLayout(cidr, 2, nil)
		assert.Errorf(t, err, "layout of %q", cidr)
	}
	// A /24 leaves public subnets of /28, too small for a load balancer.
	_, err := newSubnetLayout("10.0.0.0/24", 2, nil)
	assert.ErrorContains(t, err, "load balancer")
}

func TestTaskCapacityOfThePrivateSubnetsIsChecked(t *testing.T) {
	t.Parallel()
	// Every task at its maximum, twice over during a deployment, in one zone.
	assert.Equal(t, 2*(10+6), taskAddressesNeeded(10, 6))
	l, err := newSubnetLayout("10.0.0.0/20", 2, nil)
	require.NoError(t, err)
	assert.Equal(t, 1024-5, l.privateCapacity(), "a /22 private subnet")
	var p problems
	p.checkSubnetCapacity("10.0.0.0/20", 2, 600, 100)
	require.Len(t, p, 1, "1400 task addresses do not fit a /22")
	assert.Contains(t, p[0].String(), "vpcCidr")
	p = nil
	p.checkSubnetCapacity("10.0.0.0/20", 2, 100, 100)
	assert.Empty(t, p, fmt.Sprint(p))
}
