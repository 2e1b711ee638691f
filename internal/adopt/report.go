package adopt

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteReport prints what the migration would do, for the person who runs it: what is
// adopted and what "pulumi up" then changes on it, what is created, what stays Terraform's,
// the config that keeps what exists, and what stops the migration.
func (res *Result) WriteReport(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Adopting Terraform state (Terraform %s, serial %d) into stack %s/%s",
		orDash(res.state.TerraformVersion), res.state.Serial, res.plan.Project, res.plan.Stack)

	p("\nAdopted: %d resources. \"pulumi import\" takes them over as the program declares them; the first", len(res.Adopted)+len(res.Later))
	p("\"pulumi up\" then makes the changes listed under each (REPLACES: the resource is replaced).")
	for _, a := range append(append([]*Adoption{}, res.Adopted...), res.Later...) {
		second := ""
		if slices.Contains(res.Later, a) {
			second = "; in the second import, once its parent exists"
		}
		p("  %s  %s  <- %s  (import id %s; %s%s)", a.Resource.Type, a.Resource.Name, a.Terraform.Address, a.ImportID, a.How, second)
		for _, c := range a.Changes {
			line := fmt.Sprintf("      %s: %s -> %s", c.Input, orDash(c.From), orDash(c.To))
			if c.Replaces {
				line += "  REPLACES"
				if a.Resource.DeleteBeforeReplace {
					line += " (deleted before its replacement is created)"
				}
			}
			if c.Note != "" {
				line += "  (" + c.Note + ")"
			}
			p("%s", line)
		}
	}

	res.writeTags(p)

	p("\nTo be created: %d resources the program declares and Terraform does not have.", len(res.Created))
	for _, r := range res.Created {
		first := ""
		if slices.Contains(res.Prerequisites, r) {
			first = "  (first, by a targeted \"pulumi up\" between the two imports)"
		}
		if region := res.Elsewhere[r]; region != "" {
			first = "  (in " + region + ")"
		}
		p("  %s  %s%s", r.Type, r.Name, first)
	}

	p("\nLeft to Terraform: %d resources Terraform has and the program does not. Once the stack runs,", len(res.Left))
	p("destroy them with Terraform (docs/migrating-from-terraform.md).")
	for _, t := range res.Left {
		p("  %s", t.Address)
	}

	if len(res.Unmanaged) > 0 {
		p("\nUnmanaged afterwards: %d routes and rules inside adopted route tables and security groups that", len(res.Unmanaged))
		p("the program does not declare. They stay in AWS; remove them once the stack runs.")
		for _, t := range res.Unmanaged {
			p("  %s  %s", t.Address, describeInline(t.Attributes))
		}
	}

	if len(res.Suggestions) > 0 {
		p("\nConfig that keeps what exists:")
		for _, s := range res.Suggestions {
			why := "keeps " + s.Keeps
			if s.Does != "" {
				why = s.Does
			}
			p("  pulumi config set --stack %s %s %s   # %s", res.plan.Stack, s.Key, ShellQuote(s.Value), why)
		}
	}

	if len(res.Refusals) > 0 {
		p("\nRefused: the migration must not go ahead as it is.")
		for _, r := range res.Refusals {
			p("  - %s", r)
		}
	}
}

// describeInline says what a route or rule allows.
func describeInline(a map[string]any) string {
	if dest := scalar(a["destination_cidr_block"]); dest != "" {
		return "route " + dest + " via " + orDash(scalar(a["gateway_id"])+scalar(a["nat_gateway_id"]))
	}
	peer := scalar(a["cidr_ipv4"]) + scalar(a["referenced_security_group_id"])
	ports := scalar(a["from_port"])
	if to := scalar(a["to_port"]); to != ports {
		ports += "-" + to
	}
	if ports == "" {
		ports = "all ports"
	}
	return fmt.Sprintf("%s rule of %s: %s %s, %s", "security group", scalar(a["security_group_id"]),
		orDash(scalar(a["ip_protocol"])), ports, orDash(peer))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ShellQuote quotes a value for a POSIX shell where it needs it.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeTags sums up the tag changes: the stack's default tags replace Terraform's on every
// adopted resource that has tags, in place.
func (res *Result) writeTags(p func(string, ...any)) {
	var changed []*Adoption
	removed := map[string]bool{}
	for _, a := range append(append([]*Adoption{}, res.Adopted...), res.Later...) {
		if a.Tags == nil {
			continue
		}
		changed = append(changed, a)
		for _, kv := range strings.Fields(a.Tags.From) {
			key, _, _ := strings.Cut(kv, "=")
			if !strings.Contains(" "+a.Tags.To, " "+key+"=") {
				removed[key] = true
			}
		}
	}
	if len(changed) == 0 {
		return
	}
	p("\nTags: the first \"pulumi up\" sets the stack's tags on %d adopted resources in place (the provider's", len(changed))
	p("default tags and each resource's own); Terraform's tags the stack does not set go: %s.", strings.Join(slices.Sorted(maps.Keys(removed)), ", "))
	for _, a := range changed {
		p("  %s  %s: %s -> %s", a.Resource.Type, a.Resource.Name, orDash(a.Tags.From), a.Tags.To)
	}
}
