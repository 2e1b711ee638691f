package guard

import (
	"coldchain/internal/plan"
	"fmt"
	"net/netip"
	"slices"
)

// Network are the NET rules. They check the VPC as awsx builds it: its children (which the
// offline engine models from awsx's source, awsxvpc.go, and a real stack has), not the
// component's inputs.
var Network = []Rule{
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

// network is the modeled VPC of a plan, indexed for the rules.
type network struct {
	vpc       *plan.PlanResource
	subnets   []*plan.PlanResource
	byID      map[string]*plan.PlanResource
	tableOf   map[string]string // subnet id -> route table id
	routesOf  map[string][]*plan.PlanResource
	strategy  string
	subnetsOf map[string][]*plan.PlanResource // by subnet type (subnetKind)
}

func networkOf(p *plan.Plan) *network {
	n := &network{byID: map[string]*plan.PlanResource{}, tableOf: map[string]string{}, routesOf: map[string][]*plan.PlanResource{},
		subnetsOf: map[string][]*plan.PlanResource{}}
	for _, r := range p.Resources {
		if r.Custom {
			n.byID[r.ID] = r
		}
	}
	for _, v := range p.All("aws:ec2/vpc:Vpc") {
		n.vpc = v
	}
	n.subnets = p.All(SubnetType)
	for _, s := range n.subnets {
		n.subnetsOf[subnetKind(s)] = append(n.subnetsOf[subnetKind(s)], s)
	}
	for _, a := range p.All("aws:ec2/routeTableAssociation:RouteTableAssociation") {
		n.tableOf[a.In("subnetId")] = a.In("routeTableId")
	}
	for _, r := range p.All(RouteType) {
		n.routesOf[r.In("routeTableId")] = append(n.routesOf[r.In("routeTableId")], r)
	}
	// The component's input says the strategy; a real stack shows its outputs instead, where
	// one NAT gateway means Single.
	n.strategy = "OnePerAz"
	if len(p.All(NatType)) == 1 {
		n.strategy = "Single"
	}
	for _, c := range p.All("awsx:ec2:Vpc") {
		if s, ok := c.Obj("natGateways")["strategy"].(string); ok {
			n.strategy = s
		}
	}
	return n
}

// subnetKind is a subnet's awsx type, from the SubnetType tag awsx gives it.
func subnetKind(r *plan.PlanResource) string {
	s, _ := r.Obj("tags")["SubnetType"].(string)
	return s
}

func (n *network) defaultRoute(subnet *plan.PlanResource) *plan.PlanResource {
	for _, r := range n.routesOf[n.tableOf[subnet.ID]] {
		if r.In("destinationCidrBlock") == "0.0.0.0/0" {
			return r
		}
	}
	return nil
}

func checkIsolatedSubnets(p *plan.Plan) []string {
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

func checkPrivateEgress(p *plan.Plan) []string {
	var v []string
	n := networkOf(p)
	for _, s := range n.subnetsOf["Private"] {
		route := n.defaultRoute(s)
		if route == nil {
			v = append(v, s.Name+": private subnet without a default route")
			continue
		}
		nat := n.byID[route.In("natGatewayId")]
		if nat == nil || nat.Type != NatType {
			v = append(v, s.Name+": default route does not go to a NAT gateway")
			continue
		}
		home := n.byID[nat.In("subnetId")]
		if home == nil || subnetKind(home) != "Public" {
			v = append(v, s.Name+": NAT gateway "+nat.Name+" is not in a public subnet")
			continue
		}
		if n.strategy == "OnePerAz" && home.In("availabilityZone") != s.In("availabilityZone") {
			v = append(v, fmt.Sprintf("%s: routes to NAT gateway %s in %s, not its own zone's", s.Name, nat.Name, home.In("availabilityZone")))
		}
	}
	return v
}

func checkPublicSubnets(p *plan.Plan) []string {
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
			differs(n.byID[route.In("gatewayId")].Inputs["vpcId"], n.vpc.ID) {
			v = append(v, s.Name+": public subnet does not route to the VPC's internet gateway")
		}
	}
	return v
}

func checkNoOverlap(p *plan.Plan) []string {
	var v []string
	subnets := p.All(SubnetType)
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

func checkSubnetsInsideVpc(p *plan.Plan) []string {
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
		if err != nil || !(sub.Bits() >= vpc.Bits() && vpc.Contains(sub.Addr())) {
			v = append(v, fmt.Sprintf("%s: %s lies outside the VPC %s", s.Name, s.In("cidrBlock"), vpc))
		}
		if differs(s.Inputs["vpcId"], n.vpc.ID) {
			v = append(v, s.Name+": subnet of another VPC")
		}
	}
	return v
}

func checkTierPlacement(p *plan.Plan) []string {
	var v []string
	n := networkOf(p)
	// same is true when the subnets referred to are exactly those of a kind. A preview may show
	// the list, or a subnet of it, as unknown and coming from the VPC component: that can be
	// judged only when it is known to be a subnet of another kind.
	same := func(refs any, kind string) bool {
		want := n.subnetsOf[kind]
		got, isList := refs.([]any)
		if !isList {
			return plan.IsUnknown(refs) && len(want) > 0
		}
		if len(got) != len(want) || len(want) == 0 {
			return false
		}
		for _, id := range got {
			if !slices.ContainsFunc(want, func(s *plan.PlanResource) bool { return s.ID == id }) && (n.byID[str(id)] != nil || !plan.IsUnknown(id)) {
				return false
			}
		}
		return true
	}
	for _, r := range p.All(AlbType) {
		if !same(r.Inputs["subnets"], "Public") {
			v = append(v, r.Name+": load balancer outside the public subnets")
		}
	}
	for _, r := range p.All(ServiceType) {
		if known(r.Inputs["networkConfiguration"]) && !same(r.Obj("networkConfiguration")["subnets"], "Private") {
			v = append(v, r.Name+": tasks outside the private subnets")
		}
	}
	for _, r := range append(p.All("aws:rds/subnetGroup:SubnetGroup"), p.All("aws:elasticache/subnetGroup:SubnetGroup")...) {
		if !same(r.Inputs["subnetIds"], "Isolated") {
			v = append(v, r.Name+": subnet group outside the isolated subnets")
		}
	}
	return v
}
