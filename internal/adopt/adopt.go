// Package adopt moves AWS resources that Terraform manages under a Pulumi program without
// recreating them. It pairs the resources of a program's offline plan with the instances of a
// Terraform state by type and physical identity (names, CIDRs, ports, and the references
// between them, never Terraform's addresses), says what "pulumi up" would change on each
// adopted resource and which changes would replace it, and writes the file "pulumi import
// --file" takes. It knows pulumi-aws, the Terraform AWS provider and Pulumi's import format,
// and nothing of any one program: the program says which config keeps what exists.
package adopt

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"coldchain/internal/offline"
	"coldchain/internal/tfstate"
)

// Options are what adopt needs to know of the stack besides its plan.
type Options struct {
	// Region is the stack's region; Accounts the accounts it may deploy into (its
	// allowedAccountIds). A state of another region or account is refused.
	Region   string
	Accounts []string
	// Rules are AWS's own list of the security group rules, for the rules Terraform keeps
	// without an id; nil without it.
	Rules *AWSRules
	// Suggest names the config value that keeps what exists, for a change that config can
	// undo: "dbIdentifier" and the Terraform identifier.
	Suggest func(r *offline.PlanResource, c Change, theirs *tfstate.Resource) (key, value string, ok bool)
}

// Adoption is a resource of the plan that adopts an instance Terraform manages.
type Adoption struct {
	Resource  *offline.PlanResource
	Terraform *tfstate.Resource
	// Inside is the Terraform resource the instance is part of (a route of a route table), ""
	// when it is its own.
	Inside   string
	ImportID string
	// How says what tied the two.
	How     string
	Changes []Change
}

// Suggestion is a config value that keeps what exists.
type Suggestion struct {
	Key, Value string
	// Keeps says what it keeps: "identifier of aws_db_instance.main".
	Keeps string
}

// Result is what a migration would do.
type Result struct {
	Adopted []*Adoption
	// Later are adoptions whose parent is to be created first: a second import file takes
	// them, after a "pulumi up" that targets the Prerequisites creates their parents.
	Later         []*Adoption
	Prerequisites []*offline.PlanResource
	// Created are the plan's resources that Terraform does not have.
	Created []*offline.PlanResource
	// Left are Terraform's instances the plan does not have: they stay Terraform's.
	Left []*tfstate.Resource
	// Unmanaged are routes and rules inside adopted route tables and security groups that
	// the program does not declare: they stay in AWS, managed by nobody once Terraform lets
	// go of their table or group.
	Unmanaged []*tfstate.Resource
	// Refusals are why the migration must not go ahead as it is.
	Refusals    []string
	Suggestions []Suggestion

	plan  *offline.Plan
	state *tfstate.State
}

// OK is true when nothing stops the migration.
func (r *Result) OK() bool { return len(r.Refusals) == 0 }

// Adopt pairs a plan with a state. It fails on a state that cannot be this stack's (another
// region or account); what stops the migration otherwise is in the result's refusals.
func Adopt(plan *offline.Plan, state *tfstate.State, opts Options) (*Result, error) {
	if err := checkPlacement(state, opts); err != nil {
		return nil, err
	}
	var own []*tfstate.Resource
	var foreign []*tfstate.Resource
	for _, r := range state.Resources {
		if r.ProviderType() == "aws" && !r.Aliased() {
			own = append(own, r)
		} else {
			foreign = append(foreign, r)
		}
	}
	e := expand(own, opts.Rules)
	m := newMatcher(plan, e.all, e.inline, e.noID)
	m.run()

	res := &Result{plan: plan, state: state}
	for _, r := range m.ours {
		if !r.Custom {
			continue
		}
		if r.match == nil {
			res.Created = append(res.Created, r.PlanResource)
			continue
		}
		detailed := m.changes(r)
		a := &Adoption{Resource: r.PlanResource, Terraform: r.match, Inside: e.inline[r.match], How: r.how,
			ImportID: r.rule.importID(r.match), Changes: summarizeLists(r, detailed)}
		res.Adopted = append(res.Adopted, a)
		res.refuseReplacement(r, a)
		if e.noID[r.match] {
			res.Refusals = append(res.Refusals, fmt.Sprintf("%s %s is %s, whose id (sgr-...) Terraform does not keep: "+
				"pass AWS's list of the rules with --security-group-rules (README, Migrating from Terraform)",
				r.Type, r.Name, r.match.Address))
		}
		for _, c := range detailed {
			if opts.Suggest == nil {
				break
			}
			if key, value, ok := opts.Suggest(r.PlanResource, c, r.match); ok {
				res.suggest(Suggestion{Key: key, Value: value, Keeps: topKey(c.Input) + " of " + r.match.Address})
			}
		}
	}
	res.stageAdoptions(m)
	for _, t := range e.all {
		if m.taken[t] != nil {
			continue
		}
		switch inside := e.inline[t]; {
		case inside == "AWS" || (inside != "" && containerAdopted(m, inside)):
			res.Unmanaged = append(res.Unmanaged, t)
		case inside != "":
			// Part of a resource that stays Terraform's: it goes with it.
		default:
			res.Left = append(res.Left, t)
			res.refuseLeftData(t)
		}
	}
	res.Left = append(res.Left, foreign...)
	return res, nil
}

// checkPlacement refuses a state whose resources live in another region or account than the
// stack deploys into.
func checkPlacement(state *tfstate.State, opts Options) error {
	p := state.Placement("aws")
	for _, region := range sortedKeys(p.Regions) {
		if region != opts.Region {
			return fmt.Errorf("the Terraform state's resources are in %s (resources by region: %s), the stack deploys into %s "+
				"(aws:region): a state of another region is another estate", region, describeCounts(p.Regions), opts.Region)
		}
	}
	if len(p.Accounts) == 0 {
		return nil
	}
	if len(opts.Accounts) == 0 {
		return fmt.Errorf("the Terraform state's resources are in account %s: set allowedAccountIds to the account the stack "+
			"deploys into, so that adopt can check it is the same", strings.Join(sortedKeys(p.Accounts), ", "))
	}
	for _, account := range sortedKeys(p.Accounts) {
		if !slices.Contains(opts.Accounts, account) {
			return fmt.Errorf("the Terraform state's resources are in account %s (resources by account: %s), the stack deploys "+
				"into %s (allowedAccountIds)", account, describeCounts(p.Accounts), strings.Join(opts.Accounts, ", "))
		}
	}
	return nil
}

func describeCounts(counts map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// refuseReplacement refuses a migration that would replace what must be kept.
func (res *Result) refuseReplacement(r *resource, a *Adoption) {
	if !r.rule.keep {
		return
	}
	for _, c := range a.Changes {
		if c.Replaces {
			res.Refusals = append(res.Refusals, fmt.Sprintf("%s %s (%s) would be replaced: %s changes from %q to %q",
				r.Type, r.Name, a.Terraform.Address, c.Input, c.From, c.To))
		}
	}
}

// refuseLeftData refuses to leave stateful data behind: Terraform would destroy it with the
// rest of its configuration.
func (res *Result) refuseLeftData(t *tfstate.Resource) {
	for typ, r := range rules {
		if r.keep && slices.Contains(r.terraform, t.Type) && !hosting[typ] {
			res.Refusals = append(res.Refusals, fmt.Sprintf("%s matches nothing the stack declares (%s): it holds data, "+
				"and retiring Terraform would destroy it. Name it so the stack adopts it, or take it out of Terraform's "+
				"state (terraform state rm) to keep it outside both", t.Address, typ))
			return
		}
	}
}

// hosting are the types kept because of what they hold, not because they hold data: a
// subnet Terraform has and the program does not is Terraform's to remove.
var hosting = map[string]bool{"aws:ec2/vpc:Vpc": true, "aws:ec2/subnet:Subnet": true}

// stageAdoptions moves to a second import the adoptions whose parent in the program is to be
// created ("pulumi import" can create a component parent, not a resource): an awsx route
// table association, for one, when Terraform shares one route table between two subnets and
// the program gives each its own. The parents are created in between, by a targeted
// "pulumi up", with their other new children (the routes the association will then lead to).
func (res *Result) stageAdoptions(m *matcher) {
	var now []*Adoption
	for _, a := range res.Adopted {
		var missing []*resource
		for p := m.byURN[a.Resource.Parent]; p != nil; p = m.byURN[p.Parent] {
			if p.Custom && p.match == nil {
				missing = append(missing, p)
			}
		}
		if len(missing) == 0 {
			now = append(now, a)
			continue
		}
		res.Later = append(res.Later, a)
		for _, p := range missing {
			res.addPrerequisite(p.PlanResource)
			for _, c := range m.ours {
				if c.Parent == p.URN && c.Custom && c.match == nil {
					res.addPrerequisite(c.PlanResource)
				}
			}
		}
	}
	res.Adopted = now
}

func (res *Result) addPrerequisite(r *offline.PlanResource) {
	if !slices.Contains(res.Prerequisites, r) {
		res.Prerequisites = append(res.Prerequisites, r)
	}
}

// containerAdopted is true when the Terraform resource of an address is adopted.
func containerAdopted(m *matcher, address string) bool {
	for t := range m.taken {
		if t.Address == address {
			return true
		}
	}
	return false
}

func (res *Result) suggest(s Suggestion) {
	for i, have := range res.Suggestions {
		if have.Key == s.Key {
			if have.Value == s.Value && !strings.Contains(have.Keeps, s.Keeps) {
				res.Suggestions[i].Keeps += "; " + s.Keeps
			}
			return
		}
	}
	res.Suggestions = append(res.Suggestions, s)
}

// Suggest adds a config value that keeps what exists, found by the program itself.
func (res *Result) Suggest(s Suggestion) { res.suggest(s) }

// Refuse adds a reason the migration must not go ahead, found by the program itself.
func (res *Result) Refuse(reason string) { res.Refusals = append(res.Refusals, reason) }

// StateRemovals are the Terraform addresses of the adopted resources, for "terraform state
// rm" once the import has succeeded.
func (res *Result) StateRemovals() []string {
	var out []string
	for _, a := range append(append([]*Adoption{}, res.Adopted...), res.Later...) {
		if a.Inside != "" || slices.Contains(out, a.Terraform.Address) {
			continue
		}
		out = append(out, a.Terraform.Address)
	}
	sort.Strings(out)
	return out
}

// ImportFile is the file "pulumi import --file" takes (Pulumi's documented format: a name
// table of resources already in the stack, and the resources to import, each with its type,
// name, id, parent and provider).
type ImportFile struct {
	NameTable map[string]string `json:"nameTable,omitempty"`
	Resources []ImportSpec      `json:"resources"`
}

// ImportSpec is one resource of an import file. Name is unique in the file and what parent
// refers to; LogicalName is the program's own name of the resource.
type ImportSpec struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	LogicalName string `json:"logicalName,omitempty"`
	ID          string `json:"id,omitempty"`
	Parent      string `json:"parent,omitempty"`
	Provider    string `json:"provider,omitempty"`
	Component   bool   `json:"component,omitempty"`
	Remote      bool   `json:"remote,omitempty"`
}

// ImportFiles are the files that import the adopted resources as the program declares them:
// the same types, logical names, parents (the components above them are created empty, as
// "pulumi import" does for a component) and provider, so that their URNs are the program's.
// The second, when there is one, imports the Later adoptions.
func (res *Result) ImportFiles() []*ImportFile {
	files := []*ImportFile{res.importFile(res.Adopted, nil)}
	if len(res.Later) > 0 {
		files = append(files, res.importFile(res.Later, res.Adopted))
	}
	return files
}

// importFile imports some adoptions, with the components above them that earlier imports
// have not created.
func (res *Result) importFile(adoptions, earlier []*Adoption) *ImportFile {
	byURN := map[string]*offline.PlanResource{}
	for _, r := range res.plan.Resources {
		byURN[r.URN] = r
	}
	adopted := map[string]*Adoption{}
	for _, a := range adoptions {
		adopted[a.Resource.URN] = a
	}
	created := map[string]bool{}
	for _, a := range earlier {
		for p := byURN[a.Resource.Parent]; p != nil; p = byURN[p.Parent] {
			created[p.URN] = true
		}
	}
	needed := map[string]bool{}
	for _, a := range adoptions {
		for p := byURN[a.Resource.Parent]; p != nil; p = byURN[p.Parent] {
			needed[p.URN] = !created[p.URN]
		}
	}
	emitted := func(r *offline.PlanResource) bool {
		_, isAdopted := adopted[r.URN]
		return isAdopted || needed[r.URN] && !r.Custom
	}
	f := &ImportFile{NameTable: map[string]string{}}
	for _, r := range res.plan.Resources {
		a := adopted[r.URN]
		if !emitted(r) {
			continue
		}
		spec := ImportSpec{Type: r.Type, Name: importName(r, byURN), LogicalName: r.Name}
		if parent := byURN[r.Parent]; parent != nil {
			spec.Parent = importName(parent, byURN)
			if !emitted(parent) {
				// Already in the stack (an earlier import or the targeted up): by URN.
				f.NameTable[spec.Parent] = parent.URN
			}
		}
		if a == nil {
			spec.Component, spec.Remote = true, r.Remote
		} else {
			spec.ID = a.ImportID
			if urn, name := providerOf(r, byURN); urn != "" {
				f.NameTable[name] = urn
				spec.Provider = name
			}
		}
		f.Resources = append(f.Resources, spec)
	}
	return f
}

// importName is a resource's name in the import file: its type and the logical names from
// the top, unique where logical names repeat ("Subnet network/vpc/vpc/vpc-private-1").
func importName(r *offline.PlanResource, byURN map[string]*offline.PlanResource) string {
	path := []string{r.Name}
	for p := byURN[r.Parent]; p != nil; p = byURN[p.Parent] {
		path = append([]string{p.Name}, path...)
	}
	return typeName(r.Type) + " " + strings.Join(path, "/")
}

// providerOf is the URN of a resource's explicit provider and its name in the name table.
func providerOf(r *offline.PlanResource, byURN map[string]*offline.PlanResource) (urn, name string) {
	if r.Provider == "" {
		return "", ""
	}
	urn = r.Provider[:strings.LastIndex(r.Provider, "::")]
	if p := byURN[urn]; p != nil {
		return urn, "provider " + p.Name
	}
	return urn, "provider " + urn[strings.LastIndex(urn, "::")+2:]
}

// JSON is the import file as "pulumi import --file" reads it.
func (f *ImportFile) JSON() []byte {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic(err) // strings and booleans only
	}
	return append(b, '\n')
}
