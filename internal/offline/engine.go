// Package offline is an in-process Pulumi engine for Go programs of AWS infrastructure. It runs
// a program against a pulumi.MockResourceMonitor that records every registration and answers
// with deterministic outputs computed as AWS, or the provider, would compute them (fakes.go),
// and returns the plan: what "pulumi up" would create on an empty stack. A remote component
// registers only itself under mocks; for the awsx VPC the engine registers the children awsx
// would, derived from awsx's own source (awsxvpc.go), and marks them ModeledBy. cli.go reads
// Pulumi.<stack>.yaml as the CLI passes it and prints a plan as a tree or as JSON. The plan's
// types are package plan's. The package knows AWS and Pulumi, and nothing of any one program.
package offline

import (
	"coldchain/internal/plan"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Plan and PlanResource are the plan's types (package plan), which the guard rules read too.
type (
	Plan         = plan.Plan
	PlanResource = plan.PlanResource
	Fataler      = plan.Fataler
)

// SecretPlaceholder stands for every secret value in the plan, and for each encrypted value of
// a stack file (see LoadStackConfig).
const SecretPlaceholder = plan.SecretPlaceholder

// FakeAccountID is the account an offline plan deploys into unless told another.
const FakeAccountID = "123456789012"

// An Option changes how Run plans.
type Option func(*engine)

// InAccount plans in a real account instead of the fake one, so that the ARNs and the names
// derived from the account are the ones AWS will have (to compare a plan with what exists).
func InAccount(id string) Option { return func(e *engine) { e.accountID = id } }

// AsPreview runs the program as "pulumi preview" does (ctx.DryRun() true) instead of as
// "pulumi up", for what a program does differently in the two.
func AsPreview() Option { return func(e *engine) { e.preview = true } }

// Run runs program offline, as the given project and stack, with the raw config (keys with
// their namespace, as the Pulumi CLI passes them), and returns everything it registered and the
// stack outputs. On error the plan holds what was registered before it.
func Run(project, stack string, raw map[string]string, program pulumi.RunFunc, opts ...Option) (*Plan, error) {
	e := &engine{project: project, stack: stack, accountID: FakeAccountID}
	for _, o := range opts {
		o(e)
	}
	outputs := map[string]any{}
	var outputsMu sync.Mutex
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		if err := program(ctx); err != nil {
			return err
		}
		// An export of a plain value is an output no resource tracks: an apply on it alone
		// could run after the run returns, and its value would be missing from the plan. Joined
		// with an output of the context, the run waits for it.
		tracked, resolve, _ := ctx.NewOutput()
		resolve(nil)
		for name, value := range ctx.GetCurrentExportMap() {
			out := pulumi.ToOutput(value)
			pulumi.All(tracked, out).ApplyT(func(vs []any) any {
				outputsMu.Lock()
				defer outputsMu.Unlock()
				if pulumi.IsSecret(out) {
					outputs[name] = SecretPlaceholder
				} else {
					outputs[name] = plainGo(vs[1])
				}
				return nil
			})
		}
		return nil
	}, pulumi.WithMocks(project, stack, e), withConfig(raw), func(info *pulumi.RunInfo) { info.DryRun = e.preview })
	p := e.plan(outputs)
	p.Warnings = []string{}
	return p, err
}

// withConfig hands the raw config to the run, as the Pulumi CLI does through PULUMI_CONFIG.
func withConfig(raw map[string]string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = raw
		for k, v := range raw {
			if v == SecretPlaceholder {
				info.ConfigSecretKeys = append(info.ConfigSecretKeys, k)
			}
		}
	}
}

// engine records registrations and computes deterministic outputs for them.
type engine struct {
	// preview runs the program as a preview (AsPreview).
	preview        bool
	project, stack string
	// region is the region of the first AWS provider the program registers, the region of
	// resources without an explicit provider; regions are every AWS provider's, by URN, for
	// the resources that name one (a second region's). accountID is the account the plan
	// deploys into.
	region, accountID string
	regions           map[string]string

	mu        sync.Mutex
	resources []*PlanResource
	// modeled lists, by the URN of a remote component, the children the engine modeled.
	modeled map[string][]string
}

// remoteModels derive, per remote component type, the children the component registers inside
// its own provider, and the component's outputs from them.
var remoteModels = map[string]func(*modelContext) (map[string]any, error){
	awsxVpcType: modelAwsxVpc,
}

// modelContext is what a remote component's model sees: the component as registered, its
// inputs as plain values, and a way to register children as the component's code would.
type modelContext struct {
	e         *engine
	component *PlanResource
	name      string
	inputs    map[string]any
}

// register records a child the component's own code registers: a custom resource with the
// given parent, inputs and dependencies, through the component's provider, with fake outputs
// computed as for any other resource.
func (m *modelContext) register(typ, name, parent string, inputs map[string]any, deps ...*PlanResource) *PlanResource {
	urn := m.e.urn(parent, typ, name)
	props := resource.NewPropertyMapFromMap(inputs)
	id, outputs := fakeState(m.e.accountOf(m.component.Provider), typ, name, urn, props)
	var depURNs []string
	for _, d := range deps {
		depURNs = append(depURNs, d.URN)
	}
	r := &PlanResource{
		URN: urn, Type: typ, Name: name, Custom: true, Parent: parent,
		Provider: m.component.Provider,
		// Children inherit protect from their parent chain, as the SDKs do.
		Protect:       m.component.Protect,
		IgnoreChanges: []string{}, DependsOn: sortedUnique(depURNs),
		Inputs: plainMap(props), Outputs: plainMap(outputs), ID: id,
		ModeledBy: m.component.Type,
	}
	m.e.mu.Lock()
	m.e.resources = append(m.e.resources, r)
	if m.e.modeled == nil {
		m.e.modeled = map[string][]string{}
	}
	m.e.modeled[m.component.URN] = append(m.e.modeled[m.component.URN], urn)
	m.e.mu.Unlock()
	return r
}

func (e *engine) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	if rpc == nil {
		return "", nil, fmt.Errorf("offline engine: %s %s is read, not registered; reads are not supported", args.TypeToken, args.Name)
	}
	urn := e.urn(rpc.GetParent(), args.TypeToken, args.Name)
	if args.TypeToken == "pulumi:providers:aws" {
		e.mu.Lock()
		if region, ok := args.Inputs["region"]; ok && region.IsString() {
			if e.region == "" {
				e.region = region.StringValue()
			}
			if e.regions == nil {
				e.regions = map[string]string{}
			}
			e.regions[urn] = region.StringValue()
		}
		e.mu.Unlock()
	}
	provider := rpc.GetProvider()
	if provider == "" && rpc.GetRemote() {
		provider = rpc.GetProviders()["aws"]
	}
	id, outputs := fakeState(e.accountOf(provider), args.TypeToken, args.Name, urn, args.Inputs)
	// The provider's schema marks these outputs secret; the engine does the same here.
	for _, key := range rpc.GetAdditionalSecretOutputs() {
		if v, ok := outputs[resource.PropertyKey(key)]; ok && !v.IsSecret() {
			outputs[resource.PropertyKey(key)] = resource.MakeSecret(v)
		}
	}

	r := &PlanResource{
		URN:                        urn,
		Type:                       args.TypeToken,
		Name:                       args.Name,
		Custom:                     rpc.GetCustom(),
		Remote:                     rpc.GetRemote(),
		Version:                    rpc.GetVersion(),
		Parent:                     rpc.GetParent(),
		Provider:                   provider,
		Protect:                    rpc.GetProtect(),
		RetainOnDelete:             rpc.GetRetainOnDelete(),
		DeleteBeforeReplace:        rpc.GetDeleteBeforeReplace(),
		DeleteBeforeReplaceDefined: rpc.GetDeleteBeforeReplaceDefined(),
		IgnoreChanges:              sortedUnique(rpc.GetIgnoreChanges()),
		DependsOn:                  sortedUnique(rpc.GetDependencies()),
		Inputs:                     plainMap(args.Inputs),
		Outputs:                    plainMap(outputs),
		ID:                         id,
		CustomTimeouts:             customTimeouts(rpc.GetCustomTimeouts().GetCreate(), rpc.GetCustomTimeouts().GetUpdate(), rpc.GetCustomTimeouts().GetDelete()),
	}
	e.mu.Lock()
	// The Pulumi engine refuses a second resource of the same type, name and parent type.
	if slices.ContainsFunc(e.resources, func(other *PlanResource) bool { return other.URN == urn }) {
		e.mu.Unlock()
		return "", nil, fmt.Errorf("duplicate resource URN '%s'; try giving it a unique name", urn)
	}
	r.Aliases = e.aliasURNs(rpc.GetAliases(), rpc.GetParent(), args.TypeToken, args.Name)
	e.resources = append(e.resources, r)
	e.mu.Unlock()
	if model, ok := remoteModels[args.TypeToken]; ok && r.Remote {
		derived, err := model(&modelContext{e: e, component: r, name: args.Name, inputs: r.Inputs})
		if err != nil {
			return "", nil, err
		}
		outputs = resource.NewPropertyMapFromMap(derived)
		r.Outputs = plainMap(outputs)
	}
	return id, outputs, nil
}

// customTimeouts is the set timeouts by operation, or nil when none is set.
func customTimeouts(create, update, delete string) map[string]string {
	var out map[string]string
	for op, t := range map[string]string{"create": create, "update": update, "delete": delete} {
		if t != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[op] = t
		}
	}
	return out
}

// urn is the URN the engine gives a resource: the parent's type is part of it.
func (e *engine) urn(parent, typ, name string) string {
	return newURN(e.stack, e.project, parent, typ, name)
}

// newURN is the URN of a resource of a stack and project under a parent.
func newURN(stack, project, parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(stack), tokens.PackageName(project), parentType, tokens.Type(typ), name))
}

// aliasURNs are the URNs a resource answers to besides its own, as the Pulumi engine derives
// them: each alias (a URN, or a spec whose unset parts default to the resource's own name,
// type, stack, project and parent), and, for each alias of the parent, the URN the resource
// had under it. The caller holds e.mu.
func (e *engine) aliasURNs(aliases []*pulumirpc.Alias, parent, typ, name string) []string {
	var out []string
	for _, a := range aliases {
		if urn := a.GetUrn(); urn != "" {
			out = append(out, urn)
			continue
		}
		spec := a.GetSpec()
		if spec == nil {
			continue
		}
		aliasName, aliasType, aliasParent := name, typ, parent
		if spec.GetName() != "" {
			aliasName = spec.GetName()
		}
		if spec.GetType() != "" {
			aliasType = spec.GetType()
		}
		switch {
		case spec.GetParentUrn() != "":
			aliasParent = spec.GetParentUrn()
		case spec.GetNoParent():
			aliasParent = ""
		}
		stack, project := e.stack, e.project
		if spec.GetStack() != "" {
			stack = spec.GetStack()
		}
		if spec.GetProject() != "" {
			project = spec.GetProject()
		}
		out = append(out, newURN(stack, project, aliasParent, aliasType, aliasName))
	}
	for _, r := range e.resources {
		if r.URN == parent {
			for _, parentAlias := range r.Aliases {
				out = append(out, e.urn(parentAlias, typ, name))
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return sortedUnique(out)
}

// accountOf is the account in the region of a provider reference ("<urn>::<id>"), the
// program's first region for none.
func (e *engine) accountOf(providerRef string) account {
	e.mu.Lock()
	region := e.region
	if i := strings.LastIndex(providerRef, "::"); i >= 0 {
		if r, ok := e.regions[providerRef[:i]]; ok {
			region = r
		}
	}
	e.mu.Unlock()
	if region == "" {
		region = "us-east-1" // the provider's own default, for a program without a region
	}
	partition, suffix := "aws", "amazonaws.com"
	switch {
	case strings.HasPrefix(region, "cn-"):
		partition, suffix = "aws-cn", "amazonaws.com.cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return account{id: e.accountID, partition: partition, region: region, dnsSuffix: suffix}
}

// account is the fake account a plan deploys into, in the program's region.
type account struct{ id, partition, region, dnsSuffix string }

// arn builds an ARN of a resource of the account, in its region unless the service is IAM,
// whose ARNs have no region.
func (a account) arn(service, resource string) string {
	region := a.region
	if service == "iam" {
		region = ""
	}
	return "arn:" + strings.Join([]string{a.partition, service, region, a.id, resource}, ":")
}

// Call answers the invokes the program makes, as AWS would for the fake account.
func (e *engine) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	acct := e.accountOf(args.Provider)
	var out map[string]any
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		out = map[string]any{
			"id": acct.id, "accountId": acct.id, "userId": "AIDAOFFLINEPLAN",
			"arn": acct.arn("iam", "user/offline-plan"),
		}
	case "aws:index/getPartition:getPartition":
		out = map[string]any{"id": acct.partition, "partition": acct.partition, "dnsSuffix": acct.dnsSuffix,
			"reverseDnsPrefix": "com.amazonaws"}
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		var names, ids []any
		for i, zone := range []string{"a", "b", "c", "d"} {
			names = append(names, acct.region+zone)
			ids = append(ids, fmt.Sprintf("%s-az%d", regionCode(acct.region), i+1))
		}
		out = map[string]any{"id": acct.region, "names": names, "zoneIds": ids}
	case "aws:ec2/getRouteTable:getRouteTable":
		// The route table associated with a subnet, as EC2 answers it from the associations
		// registered so far.
		subnet, _ := args.Args["subnetId"].V.(string)
		table := e.associatedTable(subnet)
		if table == nil {
			return nil, fmt.Errorf("offline engine: no route table is associated with subnet %q", subnet)
		}
		out = map[string]any{"id": table.ID, "routeTableId": table.ID, "vpcId": table.Inputs["vpcId"], "subnetId": subnet,
			"ownerId": acct.id, "arn": table.Outputs["arn"]}
	case "aws:route53/getZone:getZone":
		name, _ := args.Args["name"].V.(string)
		zoneID := "Z" + strings.ToUpper(hashHex("zone", name)[:20])
		if id, ok := args.Args["zoneId"].V.(string); ok && id != "" {
			zoneID = id
		}
		out = map[string]any{"id": zoneID, "zoneId": zoneID, "name": name, "privateZone": false,
			"arn": fmt.Sprintf("arn:%s:route53:::hostedzone/%s", acct.partition, zoneID)}
	default:
		return nil, fmt.Errorf("offline engine: no fake answer for invoke %s", args.Token)
	}
	return resource.NewPropertyMapFromMap(out), nil
}

// associatedTable is the route table an association ties to a subnet, nil without one.
func (e *engine) associatedTable(subnetID string) *PlanResource {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.resources {
		if a.Type != "aws:ec2/routeTableAssociation:RouteTableAssociation" || a.Inputs["subnetId"] != subnetID {
			continue
		}
		for _, t := range e.resources {
			if t.Type == "aws:ec2/routeTable:RouteTable" && t.ID == a.Inputs["routeTableId"] {
				return t
			}
		}
	}
	return nil
}

// regionCode is the short form of a region used in AZ ids and cache endpoints:
// ap-northeast-2 -> apne2, us-east-1 -> use1.
func regionCode(region string) string {
	compass := map[string]string{
		"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
		"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
	}
	parts := strings.Split(region, "-")
	code := ""
	for _, p := range parts {
		if short, ok := compass[p]; ok {
			code += short
		} else {
			code += p
		}
	}
	return code
}

// plan returns the recorded resources in a stable tree order: parents before their children,
// siblings by type and name.
func (e *engine) plan(outputs map[string]any) *Plan {
	e.mu.Lock()
	defer e.mu.Unlock()
	children := map[string][]*PlanResource{}
	known := map[string]bool{}
	for _, r := range e.resources {
		known[r.URN] = true
	}
	for _, r := range e.resources {
		// A resource that uses an output of a remote component waits for all of the
		// component's children: the component's outputs resolve only once its provider has
		// registered them all.
		deps := r.DependsOn
		for _, dep := range r.DependsOn {
			deps = append(deps, e.modeled[dep]...)
		}
		r.DependsOn = sortedUnique(deps)
		parent := r.Parent
		if !known[parent] {
			parent = ""
		}
		children[parent] = append(children[parent], r)
	}
	var ordered []*PlanResource
	var walk func(parent string)
	walk = func(parent string) {
		kids := children[parent]
		sort.Slice(kids, func(i, j int) bool { return siblingLess(kids[i], kids[j]) })
		for _, k := range kids {
			ordered = append(ordered, k)
			walk(k.URN)
		}
	}
	walk("")
	return &Plan{Project: e.project, Stack: e.stack, Account: e.accountID, Resources: ordered, Outputs: outputs}
}

// siblingLess puts providers first, then components, then custom resources, each by type and
// name.
func siblingLess(a, b *PlanResource) bool {
	rank := func(r *PlanResource) int {
		switch {
		case strings.HasPrefix(r.Type, "pulumi:providers:"):
			return 0
		case !r.Custom:
			return 1
		}
		return 2
	}
	if rank(a) != rank(b) {
		return rank(a) < rank(b)
	}
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	return a.Name < b.Name
}

// hashHex is a deterministic stand-in for the random parts of names and ids.
func hashHex(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// autonameSuffixOf is the suffix autonaming would append for a resource: "-" and 7 hex digits.
func autonameSuffixOf(urn string) string { return "-" + hashHex(stackless(urn))[:7] }

// stackless drops the stack from a URN, so that the same resource gets the same fake ids in
// every stack and two stacks' plans differ only where their config does.
func stackless(urn string) string {
	if rest, ok := strings.CutPrefix(urn, "urn:pulumi:"); ok {
		if _, after, ok := strings.Cut(rest, "::"); ok {
			return after
		}
	}
	return urn
}

// sortedUnique sorts a list and drops duplicates; never nil, so JSON shows [].
func sortedUnique(items []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, item := range items {
		if !seen[item] {
			seen[item] = true
			out = append(out, item)
		}
	}
	sort.Strings(out)
	return out
}

// plainMap turns engine properties into plain JSON values: secrets become "[secret]", resource
// references their URN, unknowns "[unknown]".
func plainMap(props resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range props {
		if strings.HasPrefix(string(k), "__") {
			continue // engine bookkeeping such as __defaults
		}
		out[string(k)] = plainValue(v)
	}
	return out
}

func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return SecretPlaceholder
	case v.IsComputed():
		return "[unknown]"
	case v.IsOutput():
		o := v.OutputValue()
		switch {
		case o.Secret:
			return SecretPlaceholder
		case !o.Known:
			return "[unknown]"
		}
		return plainValue(o.Element)
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		out := []any{}
		for _, e := range v.ArrayValue() {
			out = append(out, plainValue(e))
		}
		return out
	case v.IsObject():
		return plainMap(v.ObjectValue())
	case v.IsAsset(), v.IsArchive():
		return "[asset]"
	}
	return fmt.Sprintf("%v", v.V)
}

// plainGo turns a resolved Go value of a stack output into plain JSON values.
func plainGo(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return string(b)
	}
	return out
}
