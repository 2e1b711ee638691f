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
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
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
	// Stack is the stack's name, for the commands the refusals print.
	Stack string
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
	// Tags is the change of the tags the provider applies, nil when they stay; the report
	// sums them up, since the stack's default tags change them on nearly everything.
	Tags *Change
}

// Suggestion is a config value that keeps what exists.
type Suggestion struct {
	Key, Value string
	// Keeps says what it keeps: "identifier of aws_db_instance.main".
	Keeps string
	// Does says what it does instead, for a value that makes room for what exists rather than
	// keeping something (the new private subnets of tasks that leave the database's).
	Does string
}

// Result is what a migration would do.
type Result struct {
	Adopted []*Adoption
	// Later are adoptions whose parent is to be created first: a second import file takes
	// them, after a "pulumi up" that targets the Prerequisites creates their parents.
	Later         []*Adoption
	Prerequisites []*offline.PlanResource
	// Created are the plan's resources that Terraform does not have; Elsewhere names the
	// region of those created in another region than the stack's.
	Created   []*offline.PlanResource
	Elsewhere map[*offline.PlanResource]string
	// Left are Terraform's instances the plan does not have: they stay Terraform's.
	Left []*tfstate.Resource
	// Unmanaged are routes and rules inside adopted route tables and security groups that
	// the program does not declare: they stay in AWS, managed by nobody once Terraform lets
	// go of their table or group.
	Unmanaged []*tfstate.Resource
	// RuleGroups are the security groups of adopted rules whose ids Terraform does not keep:
	// AWS's list of their rules (--security-group-rules) gives them.
	RuleGroups []string
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
	m := newMatcher(plan, opts.Region, e.all, e.inline, e.noID)
	m.run()

	res := &Result{plan: plan, state: state, Elsewhere: map[*offline.PlanResource]string{}}
	for _, r := range m.ours {
		if !r.Custom {
			continue
		}
		if r.match == nil {
			res.Created = append(res.Created, r.PlanResource)
			if r.elsewhere != "" {
				res.Elsewhere[r.PlanResource] = r.elsewhere
			}
			continue
		}
		detailed := m.changes(r)
		a := &Adoption{Resource: r.PlanResource, Terraform: r.match, Inside: e.inline[r.match], How: r.how,
			ImportID: r.rule.importID(r.match), Changes: detailed}
		if c, changed := m.tagsChange(r); changed {
			a.Tags = &c
		}
		res.Adopted = append(res.Adopted, a)
		res.refuseReplacement(r, a)
		if e.noID[r.match] {
			if g := r.match.String("security_group_id"); g != "" && !slices.Contains(res.RuleGroups, g) {
				res.RuleGroups = append(res.RuleGroups, g)
			}
			res.Refusals = append(res.Refusals, fmt.Sprintf("%s %s is %s, whose id (sgr-...) Terraform does not keep: "+
				"pass AWS's list of the rules with --security-group-rules (docs/migrating-from-terraform.md)",
				r.Type, r.Name, r.match.Address))
		}
		for _, c := range detailed {
			if opts.Suggest == nil {
				break
			}
			if key, value, ok := opts.Suggest(r.PlanResource, c, r.match); ok {
				res.suggest(Suggestion{Key: key, Value: value, Keeps: topKey(c.Input) + " of " + r.match.Address})
				if c.Replaces && !r.schema.Keep {
					// Config can keep it: a replacement the migration need not make is refused
					// until the config is set (what must be kept is refused anyway).
					res.Refuse(fmt.Sprintf("%s %s (%s) would be replaced: %s changes from %q to %q, which %s=%s keeps",
						r.Type, r.Name, r.match.Address, c.Input, c.From, c.To, key, value))
				}
			}
		}
	}
	res.stageAdoptions(m)
	for _, t := range e.all {
		if m.taken[t] != nil {
			continue
		}
		switch inside := e.inline[t]; {
		case inside != "" && containerAdopted(m, inside):
			res.Unmanaged = append(res.Unmanaged, t)
		case inside != "":
			// Part of a resource that stays Terraform's: it goes with it.
		default:
			res.Left = append(res.Left, t)
		}
	}
	res.Left = append(res.Left, foreign...)
	for _, t := range res.Left {
		res.refuseToLeave(t, m)
	}
	if len(res.Adopted)+len(res.Later) == 0 {
		res.Refuse("nothing in the Terraform state is the stack's: is it the state of this estate, " +
			"and the stack's config (projectName, environment, vpcCidr) the estate's?")
	}
	return res, nil
}

// checkPlacement refuses a state whose resources live in another region or account than the
// stack deploys into.
func checkPlacement(state *tfstate.State, opts Options) error {
	p := state.Placement("aws")
	for _, region := range slices.Sorted(maps.Keys(p.Regions)) {
		if region != opts.Region {
			return fmt.Errorf("the Terraform state's resources are in %s (resources by region: %s), the stack deploys into %s "+
				"(aws:region): a state of another region is another estate", region, describeCounts(p.Regions), opts.Region)
		}
	}
	if len(p.Accounts) == 0 {
		return nil
	}
	if len(opts.Accounts) == 0 {
		accounts := slices.Sorted(maps.Keys(p.Accounts))
		value := `["` + strings.Join(accounts, `","`) + `"]`
		return fmt.Errorf("the Terraform state's resources are in account %s: set allowedAccountIds to the account the stack "+
			"deploys into, so that adopt can check it is the same (and no other account's credentials can deploy the stack): "+
			"pulumi config set --stack %s allowedAccountIds '%s', or for this run -c 'allowedAccountIds=%s'",
			strings.Join(accounts, ", "), opts.Stack, value, value)
	}
	for _, account := range slices.Sorted(maps.Keys(p.Accounts)) {
		if !slices.Contains(opts.Accounts, account) {
			return fmt.Errorf("the Terraform state's resources are in account %s (resources by account: %s), the stack deploys "+
				"into %s (allowedAccountIds)", account, describeCounts(p.Accounts), strings.Join(opts.Accounts, ", "))
		}
	}
	return nil
}

func describeCounts(counts map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// refuseReplacement refuses a migration that would replace what must be kept.
func (res *Result) refuseReplacement(r *resource, a *Adoption) {
	if !r.schema.Keep {
		return
	}
	for _, c := range a.Changes {
		if c.Replaces {
			res.Refusals = append(res.Refusals, fmt.Sprintf("%s %s (%s) would be replaced: %s changes from %q to %q",
				r.Type, r.Name, a.Terraform.Address, c.Input, c.From, c.To))
		}
	}
}

// safeToLeave are the Terraform types whose instances the stack may leave to Terraform, to be
// destroyed with the rest of its configuration: what holds no data and runs nothing the
// application needs once the stack's own replacement runs (alarms, permissions, rules,
// routing, scaling). Anything else Terraform has and the stack does not stops the migration:
// a table, a file system, a queue, a replica bucket in another region, a service the stack
// does not run.
var safeToLeave = map[string]bool{
	"aws_cloudwatch_metric_alarm": true, "aws_cloudwatch_composite_alarm": true, "aws_cloudwatch_dashboard": true,
	"aws_cloudwatch_log_metric_filter": true, "aws_cloudwatch_event_rule": true, "aws_cloudwatch_event_target": true,
	"aws_sns_topic_subscription": true, "aws_sns_topic_policy": true,
	"aws_iam_role": true, "aws_iam_role_policy": true, "aws_iam_role_policy_attachment": true, "aws_iam_policy": true,
	"aws_iam_policy_attachment": true, "aws_iam_instance_profile": true,
	"aws_security_group": true, "aws_security_group_rule": true, "aws_vpc_security_group_ingress_rule": true,
	"aws_vpc_security_group_egress_rule": true, "aws_default_security_group": true,
	"aws_route": true, "aws_route_table": true, "aws_route_table_association": true, "aws_nat_gateway": true, "aws_eip": true,
	"aws_lb_listener": true, "aws_lb_listener_rule": true, "aws_lb_target_group": true, "aws_alb_listener": true,
	"aws_alb_listener_rule": true, "aws_alb_target_group": true,
	"aws_appautoscaling_target": true, "aws_appautoscaling_policy": true, "aws_ecs_task_definition": true,
	"aws_ecr_lifecycle_policy": true, "aws_kms_alias": true, "aws_cloudwatch_log_group": true,
	"aws_s3_bucket_policy": true, "aws_s3_bucket_public_access_block": true, "aws_s3_bucket_versioning": true,
	"aws_s3_bucket_server_side_encryption_configuration": true, "aws_s3_bucket_lifecycle_configuration": true,
	"aws_s3_bucket_logging": true, "aws_s3_bucket_ownership_controls": true, "aws_flow_log": true, "aws_vpc_endpoint": true,
	"aws_s3_bucket_replication_configuration": true, "aws_ecr_replication_configuration": true,
	"aws_db_parameter_group": true, "aws_acm_certificate_validation": true,
}

// utilityProviders hold values, not infrastructure (random_password, null_resource).
var utilityProviders = map[string]bool{"random": true, "null": true, "time": true, "tls": true, "local": true,
	"archive": true, "external": true, "http": true, "template": true}

// refuseToLeave refuses to leave to Terraform what its retirement must not destroy: data, a
// service, anything not known to be safe, and a subnet or VPC that an adopted resource still
// lives in.
func (res *Result) refuseToLeave(t *tfstate.Resource, m *matcher) {
	switch {
	case utilityProviders[t.ProviderType()]:
		return
	case t.ProviderType() == "aws" && !t.Aliased() && safeToLeave[t.Type]:
		return
	case t.Type == "aws_subnet" || t.Type == "aws_vpc":
		for _, r := range m.ours {
			if id := t.String("id"); r.match != nil && id != "" && refersTo(r.match.Attributes, id) {
				res.Refuse(fmt.Sprintf("%s (%s) would be left to Terraform, but %s, which the stack adopts as %s %s, "+
					"lives in it: keep it (the config the report suggests keeps the subnets) or move %s first",
					t.Address, t.String("cidr_block"), r.match.Address, r.Type, r.Name, r.match.Address))
				return
			}
		}
		return
	}
	why := "it may hold data or run something, and retiring Terraform would destroy it"
	switch {
	case t.ProviderType() != "aws":
		why = "its provider (" + orDash(t.ProviderType()) + ") is not the stack's, and retiring Terraform would destroy it"
	case t.Aliased():
		why = "it belongs to another provider configuration (another region or account), and retiring Terraform would destroy it"
	}
	res.Refuse(fmt.Sprintf("%s (%s) matches nothing the stack declares: %s. Take it out of Terraform's state "+
		"(terraform state rm) to keep it outside both, or keep Terraform for it", t.Address, t.Type, why))
}

// refersTo is true when an attribute anywhere in a Terraform instance has the value.
func refersTo(v any, value string) bool {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if refersTo(e, value) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if refersTo(e, value) {
				return true
			}
		}
	case string:
		return x == value
	}
	return false
}

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
		switch {
		case have.Key != s.Key:
		case have.Value != s.Value:
			res.Refuse(fmt.Sprintf("%s would have to be %s to keep %s, and %s to keep %s: one value cannot keep both",
				s.Key, have.Value, have.Keeps, s.Value, s.Keeps))
			return
		case !strings.Contains(have.Keeps, s.Keeps):
			res.Suggestions[i].Keeps += "; " + s.Keeps
			return
		default:
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
	Version     string `json:"version,omitempty"`
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
	names := importNames(res.plan.Resources, byURN)
	importName := func(r *offline.PlanResource, _ map[string]*offline.PlanResource) string { return names[r.URN] }
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
			if r.Remote {
				spec.Version = r.Version // the component's provider plugin, as the program asks for it
			}
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

// importNames are the resources' names in an import file, which parents refer to: the type and
// the logical names from the top ("aws:ec2/subnet:Subnet network/vpc/vpc/vpc-private-1"), and
// the URN itself for the rare two that this would not tell apart.
func importNames(resources []*offline.PlanResource, byURN map[string]*offline.PlanResource) map[string]string {
	names := map[string]string{}
	count := map[string]int{}
	for _, r := range resources {
		path := []string{r.Name}
		for p := byURN[r.Parent]; p != nil; p = byURN[p.Parent] {
			path = append([]string{p.Name}, path...)
		}
		names[r.URN] = r.Type + " " + strings.Join(path, "/")
		count[names[r.URN]]++
	}
	for urn, name := range names {
		if count[name] > 1 {
			names[urn] = urn
		}
	}
	return names
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

// WriteImportFiles writes the import files to out and, for a second one, to out with "-2"
// before ".json", all or none: each to a temporary file first, then renamed into place; a
// second file left by an earlier run that needed one is removed. It returns the paths written.
func WriteImportFiles(out string, files []*ImportFile) ([]string, error) {
	paths := []string{out, strings.TrimSuffix(out, ".json") + "-2.json"}
	if err := writeAll(paths, files); err != nil {
		return nil, err
	}
	return paths[:len(files)], nil
}

func writeAll(paths []string, files []*ImportFile) error {
	var temps []string
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	for i, f := range files {
		tmp, err := os.CreateTemp(filepath.Dir(paths[i]), ".adopt-*.json")
		if err != nil {
			return fmt.Errorf("writing %s: %w", paths[i], err)
		}
		temps = append(temps, tmp.Name())
		_, err = tmp.Write(f.JSON())
		if closeErr := tmp.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", paths[i], err)
		}
	}
	for i := range files {
		if err := os.Rename(temps[i], paths[i]); err != nil {
			return fmt.Errorf("writing %s: %w", paths[i], err)
		}
	}
	temps = nil
	if len(files) < len(paths) {
		if err := os.Remove(paths[len(files)]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the stale %s: %w", paths[len(files)], err)
		}
	}
	return nil
}
