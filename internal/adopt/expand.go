package adopt

import (
	"encoding/json"
	"fmt"
	"strings"

	"coldchain/internal/tfstate"
)

// Terraform keeps some AWS resources inside others: a route table's routes and a security
// group's rules may be written inline, and its state then lists them as attributes of the
// table or group (it lists there even those that separate resources manage). A rule written as
// aws_security_group_rule is its own resource but does not keep the rule's id. The program
// declares each route and rule as its own resource; expand makes each one Terraform knows an
// instance of its own, so that the matcher can pair it with the program's.

// expanded are a state's instances with the routes and rules in them made instances.
type expanded struct {
	all []*tfstate.Resource
	// inline maps an instance that is part of another to that one's address.
	inline map[*tfstate.Resource]string
	// noID are the rules whose id Terraform does not keep ("sgr-..."), which "pulumi import"
	// needs; AWS's own list of the rules can give it (AWSRules).
	noID map[*tfstate.Resource]bool
}

// AWSRules is what "aws ec2 describe-security-group-rules --output json" prints.
type AWSRules struct {
	SecurityGroupRules []struct {
		SecurityGroupRuleID string `json:"SecurityGroupRuleId"`
		GroupID             string `json:"GroupId"`
		IsEgress            bool   `json:"IsEgress"`
		IPProtocol          string `json:"IpProtocol"`
		FromPort            *int   `json:"FromPort"`
		ToPort              *int   `json:"ToPort"`
		CidrIpv4            string `json:"CidrIpv4"`
		ReferencedGroupInfo *struct {
			GroupID string `json:"GroupId"`
		} `json:"ReferencedGroupInfo"`
		Description string `json:"Description"`
	} `json:"SecurityGroupRules"`
}

// ParseAWSRules reads the output of "aws ec2 describe-security-group-rules".
func ParseAWSRules(data []byte) (*AWSRules, error) {
	var r AWSRules
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("not the output of aws ec2 describe-security-group-rules: %v", err)
	}
	if r.SecurityGroupRules == nil {
		return nil, fmt.Errorf(`not the output of aws ec2 describe-security-group-rules: no "SecurityGroupRules"`)
	}
	for _, rule := range r.SecurityGroupRules {
		if !strings.HasPrefix(rule.SecurityGroupRuleID, "sgr-") || !strings.HasPrefix(rule.GroupID, "sg-") {
			return nil, fmt.Errorf("security group rule %q of group %q: not a rule id and group id", rule.SecurityGroupRuleID, rule.GroupID)
		}
	}
	return &r, nil
}

// ruleTypes are the Terraform types of one security group rule, by direction.
var ruleTypes = map[string]string{"ingress": "aws_vpc_security_group_ingress_rule", "egress": "aws_vpc_security_group_egress_rule"}

// expand returns the instances of a state with the inline routes and every rule made
// instances, AWS's rule ids given to the rules Terraform keeps without one.
func expand(state []*tfstate.Resource, aws *AWSRules) *expanded {
	e := &expanded{inline: map[*tfstate.Resource]string{}, noID: map[*tfstate.Resource]bool{}}
	routes := map[string]bool{}
	rules := map[string]bool{}
	for _, r := range state {
		switch r.Type {
		case "aws_route":
			routes[r.String("route_table_id")+"_"+r.String("destination_cidr_block")] = true
		case "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule":
			rules[ruleKey(r)] = true
		case "aws_security_group_rule":
			for _, rule := range splitRule(r, r.String("type"), r.Attributes) {
				rules[ruleKey(rule)] = true
			}
		}
	}
	add := func(r *tfstate.Resource, inside string, noID bool) {
		e.all = append(e.all, r)
		if inside != "" {
			e.inline[r] = inside
		}
		if noID {
			e.noID[r] = true
		}
	}
	var separate []*tfstate.Resource
	for _, r := range state {
		switch r.Type {
		case "aws_route_table":
			add(r, "", false)
			for i, entry := range tfstate.Objects(r.Attributes["route"]) {
				dest := scalar(entry["cidr_block"])
				if dest == "" || routes[r.String("id")+"_"+dest] {
					continue
				}
				add(&tfstate.Resource{
					Address: fmt.Sprintf("%s (route %d, %s)", r.Address, i+1, dest), Type: "aws_route", Provider: r.Provider,
					Attributes: map[string]any{
						"id": r.String("id") + "_" + dest, "route_table_id": r.String("id"), "destination_cidr_block": dest,
						"gateway_id": entry["gateway_id"], "nat_gateway_id": entry["nat_gateway_id"],
					},
				}, r.Address, false)
			}
		case "aws_security_group":
			add(r, "", false)
			for _, dir := range []string{"ingress", "egress"} {
				for i, entry := range tfstate.Objects(r.Attributes[dir]) {
					for _, rule := range splitRule(r, dir, entry) {
						if rules[ruleKey(rule)] {
							continue
						}
						rule.Address = fmt.Sprintf("%s (%s rule %d)", r.Address, dir, i+1)
						rules[ruleKey(rule)] = true
						separate = append(separate, rule)
						e.inline[rule] = r.Address
					}
				}
			}
		case "aws_security_group_rule":
			for _, rule := range splitRule(r, r.String("type"), r.Attributes) {
				rule.Address = r.Address
				separate = append(separate, rule)
			}
		default:
			add(r, "", false)
		}
	}
	// Rules Terraform wrote inline or as aws_security_group_rule have no id in the state.
	groups := map[string]*tfstate.Resource{}
	for _, r := range state {
		if r.Type == "aws_security_group" || r.Type == "aws_default_security_group" {
			groups[r.String("id")] = r
		}
	}
	ids := map[string]string{}
	if aws != nil {
		for _, a := range aws.SecurityGroupRules {
			group := groups[a.GroupID]
			if group == nil {
				continue // a group of something else in the account
			}
			rule := awsRule(a.GroupID, a.IsEgress, a.IPProtocol, a.FromPort, a.ToPort, a.CidrIpv4, a.ReferencedGroupInfo, a.Description)
			rule.Attributes["id"] = a.SecurityGroupRuleID
			ids[ruleKey(rule)] = a.SecurityGroupRuleID
			if !rules[ruleKey(rule)] {
				// A rule of a Terraform group that Terraform does not know (added by hand): it
				// exists all the same, and goes with its group.
				rule.Address = fmt.Sprintf("%s (%s, in AWS only)", group.Address, a.SecurityGroupRuleID)
				rule.Provider = group.Provider
				rules[ruleKey(rule)] = true
				add(rule, group.Address, false)
			}
		}
	}
	for _, rule := range separate {
		if id, ok := ids[ruleKey(rule)]; ok {
			rule.Attributes["id"] = id
		}
		add(rule, e.inline[rule], rule.String("id") == "")
	}
	return e
}

// splitRule makes one instance of each peer of a Terraform rule (each CIDR, each group).
func splitRule(owner *tfstate.Resource, dir string, attrs map[string]any) []*tfstate.Resource {
	group := scalar(attrs["security_group_id"])
	if group == "" {
		group = owner.String("id")
	}
	from, to := scalar(attrs["from_port"]), scalar(attrs["to_port"])
	var out []*tfstate.Resource
	base := func() map[string]any {
		a := map[string]any{"security_group_id": group, "ip_protocol": protocol(scalar(attrs["protocol"])),
			"from_port": from, "to_port": to, "description": attrs["description"]}
		if a["ip_protocol"] == "-1" {
			a["from_port"], a["to_port"] = nil, nil
		}
		return a
	}
	for _, cidr := range tfstate.StringList(attrs["cidr_blocks"]) {
		a := base()
		a["cidr_ipv4"] = cidr
		out = append(out, &tfstate.Resource{Type: ruleTypes[dir], Provider: owner.Provider, Attributes: a})
	}
	peers := tfstate.StringList(attrs["security_groups"])
	if sg := scalar(attrs["source_security_group_id"]); sg != "" {
		peers = append(peers, sg)
	}
	if attrs["self"] == true {
		peers = append(peers, group)
	}
	for _, sg := range peers {
		a := base()
		a["referenced_security_group_id"] = sg
		out = append(out, &tfstate.Resource{Type: ruleTypes[dir], Provider: owner.Provider, Attributes: a})
	}
	return out
}

// awsRule is an instance for a rule as AWS describes it.
func awsRule(group string, egress bool, proto string, from, to *int, cidr string, ref *struct {
	GroupID string `json:"GroupId"`
}, description string) *tfstate.Resource {
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	a := map[string]any{"security_group_id": group, "ip_protocol": protocol(proto), "description": description}
	if a["ip_protocol"] != "-1" && from != nil && to != nil {
		a["from_port"], a["to_port"] = scalar(*from), scalar(*to)
	}
	if cidr != "" {
		a["cidr_ipv4"] = cidr
	}
	if ref != nil {
		a["referenced_security_group_id"] = ref.GroupID
	}
	return &tfstate.Resource{Type: ruleTypes[dir], Attributes: a}
}

// ruleKey identifies a rule by what it allows: its group, direction, protocol, ports and peer.
func ruleKey(r *tfstate.Resource) string {
	return strings.Join([]string{r.Type, r.String("security_group_id"), protocol(scalar(r.Attributes["ip_protocol"])),
		scalar(r.Attributes["from_port"]), scalar(r.Attributes["to_port"]), r.String("cidr_ipv4"),
		r.String("referenced_security_group_id")}, "|")
}

// protocol is an IP protocol as the rule resources write it: "tcp", "udp", "icmp" or "-1".
func protocol(p string) string {
	switch strings.ToLower(p) {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "all", "-1":
		return "-1"
	}
	return strings.ToLower(p)
}
