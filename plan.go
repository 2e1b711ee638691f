package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// This file is the offline engine: a pulumi.MockResourceMonitor that records every registration
// and answers with deterministic fake outputs (fakes.go). A remote component registers only
// itself under mocks; for the one the program uses, awsx's VPC, the engine registers the children
// awsx would, derived from awsx's own source (awsxvpc.go), and marks them modeledBy. plancli.go
// loads Pulumi.<stack>.yaml and prints the recorded plan as a tree or as JSON.

// Plan is what the program would create on an empty stack. Its JSON form is a contract read by
// tooling and reviewers: fields may be added, never renamed or removed.
type Plan struct {
	Project   string          `json:"project"`
	Stack     string          `json:"stack"`
	Resources []*PlanResource `json:"resources"`
	Outputs   map[string]any  `json:"outputs"`
	// Warnings are what "pulumi up" would warn about (added to the original shape).
	Warnings []string `json:"warnings"`
}

// PlanResource is one registration as the engine saw it.
type PlanResource struct {
	URN                 string         `json:"urn"`
	Type                string         `json:"type"`
	Name                string         `json:"name"`
	Custom              bool           `json:"custom"`
	Remote              bool           `json:"remote"`
	Parent              string         `json:"parent"`
	Provider            string         `json:"provider"`
	Protect             bool           `json:"protect"`
	RetainOnDelete      bool           `json:"retainOnDelete"`
	DeleteBeforeReplace bool           `json:"deleteBeforeReplace"`
	IgnoreChanges       []string       `json:"ignoreChanges"`
	DependsOn           []string       `json:"dependsOn"`
	Inputs              map[string]any `json:"inputs"`
	Outputs             map[string]any `json:"outputs"`
	// ID is the fake physical id the engine answered with.
	ID string `json:"id"`
	// CustomTimeouts are the create, update and delete timeouts the program set, where it set
	// any (added to the original shape).
	CustomTimeouts map[string]string `json:"customTimeouts,omitempty"`
	// ModeledBy is set on the children of a remote component that the engine derived from the
	// component's source code (awsxvpc.go), since mocks see only the component: the
	// component's type token (added to the original shape).
	ModeledBy string `json:"modeledBy,omitempty"`
}

// in returns an input as a string ("" when absent or not a string).
func (r *PlanResource) in(key string) string {
	s, _ := r.Inputs[key].(string)
	return s
}

// secretPlaceholder stands for every secret value in the plan.
const secretPlaceholder = "[secret]"

// fakeAccountID is the account every offline plan deploys into.
const fakeAccountID = "123456789012"

// planStack runs the program offline on a stack's raw config (keys with their namespace, as in
// Pulumi.<stack>.yaml) and returns everything it registered. Bad config returns a *ConfigError
// before anything is registered.
func planStack(project, stack string, raw map[string]string) (*Plan, error) {
	cfg, err := loadConfig(project, stack, raw)
	if err != nil {
		return nil, err
	}
	e := &offlineEngine{project: project, stack: stack, region: cfg.Region}
	outputs := map[string]any{}
	var outputsMu sync.Mutex
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		if err := newStack(ctx, cfg); err != nil {
			return err
		}
		for name, value := range ctx.GetCurrentExportMap() {
			out := pulumi.ToOutput(value)
			out.ApplyT(func(v any) any {
				outputsMu.Lock()
				defer outputsMu.Unlock()
				if pulumi.IsSecret(out) {
					outputs[name] = secretPlaceholder
				} else {
					outputs[name] = plainGo(v)
				}
				return nil
			})
		}
		return nil
	}, pulumi.WithMocks(project, stack, e), withConfig(raw))
	if err != nil {
		return nil, err
	}
	p := e.plan(outputs)
	p.Warnings = []string{}
	for _, b := range cfg.deployBlockers() {
		p.Warnings = append(p.Warnings, "pulumi up would stop here: "+b.String())
	}
	p.Warnings = append(p.Warnings, cfg.warnings()...)
	return p, nil
}

// withConfig hands the raw config to the run, as the Pulumi CLI does through PULUMI_CONFIG.
func withConfig(raw map[string]string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = raw
		for k, v := range raw {
			if v == secretPlaceholder {
				info.ConfigSecretKeys = append(info.ConfigSecretKeys, k)
			}
		}
	}
}

// offlineEngine records registrations and invents deterministic outputs for them.
type offlineEngine struct {
	project, stack, region string

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
	e         *offlineEngine
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
	id, outputs := fakeState(m.e.env(), typ, name, urn, props)
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

func (e *offlineEngine) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	if rpc == nil {
		return "", nil, fmt.Errorf("offline engine: %s %s is read, not registered; reads are not supported", args.TypeToken, args.Name)
	}
	urn := e.urn(rpc.GetParent(), args.TypeToken, args.Name)
	id, outputs := fakeState(e.env(), args.TypeToken, args.Name, urn, args.Inputs)
	// The provider's schema marks these outputs secret; the engine does the same here.
	for _, key := range rpc.GetAdditionalSecretOutputs() {
		if v, ok := outputs[resource.PropertyKey(key)]; ok && !v.IsSecret() {
			outputs[resource.PropertyKey(key)] = resource.MakeSecret(v)
		}
	}

	provider := rpc.GetProvider()
	if provider == "" && rpc.GetRemote() {
		provider = rpc.GetProviders()["aws"]
	}
	r := &PlanResource{
		URN:                 urn,
		Type:                args.TypeToken,
		Name:                args.Name,
		Custom:              rpc.GetCustom(),
		Remote:              rpc.GetRemote(),
		Parent:              rpc.GetParent(),
		Provider:            provider,
		Protect:             rpc.GetProtect(),
		RetainOnDelete:      rpc.GetRetainOnDelete(),
		DeleteBeforeReplace: rpc.GetDeleteBeforeReplace(),
		IgnoreChanges:       sortedUnique(rpc.GetIgnoreChanges()),
		DependsOn:           sortedUnique(rpc.GetDependencies()),
		Inputs:              plainMap(args.Inputs),
		Outputs:             plainMap(outputs),
		ID:                  id,
		CustomTimeouts:      customTimeouts(rpc.GetCustomTimeouts().GetCreate(), rpc.GetCustomTimeouts().GetUpdate(), rpc.GetCustomTimeouts().GetDelete()),
	}
	e.mu.Lock()
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
func (e *offlineEngine) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(e.stack), tokens.PackageName(e.project), parentType, tokens.Type(typ), name))
}

func (e *offlineEngine) env() awsEnv {
	partition, suffix := "aws", "amazonaws.com"
	switch {
	case strings.HasPrefix(e.region, "cn-"):
		partition, suffix = "aws-cn", "amazonaws.com.cn"
	case strings.HasPrefix(e.region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return awsEnv{AccountID: fakeAccountID, Partition: partition, Region: e.region, DNSSuffix: suffix}
}

// Call answers the invokes the program makes, as AWS would for the fake account.
func (e *offlineEngine) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	env := e.env()
	var out map[string]any
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		out = map[string]any{
			"id": env.AccountID, "accountId": env.AccountID, "userId": "AIDAOFFLINEPLAN",
			"arn": env.arn("iam", "", "user/offline-plan"),
		}
	case "aws:index/getPartition:getPartition":
		out = map[string]any{"id": env.Partition, "partition": env.Partition, "dnsSuffix": env.DNSSuffix,
			"reverseDnsPrefix": "com.amazonaws"}
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		var names, ids []any
		for i, zone := range []string{"a", "b", "c", "d"} {
			names = append(names, e.region+zone)
			ids = append(ids, fmt.Sprintf("%s-az%d", regionCode(e.region), i+1))
		}
		out = map[string]any{"id": e.region, "names": names, "zoneIds": ids}
	case "aws:route53/getZone:getZone":
		name, _ := args.Args["name"].V.(string)
		zoneID := "Z" + strings.ToUpper(hashHex("zone", name)[:20])
		if id, ok := args.Args["zoneId"].V.(string); ok && id != "" {
			zoneID = id
		}
		out = map[string]any{"id": zoneID, "zoneId": zoneID, "name": name, "privateZone": false,
			"arn": fmt.Sprintf("arn:%s:route53:::hostedzone/%s", env.Partition, zoneID)}
	default:
		return nil, fmt.Errorf("offline engine: no fake answer for invoke %s", args.Token)
	}
	return resource.NewPropertyMapFromMap(out), nil
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
func (e *offlineEngine) plan(outputs map[string]any) *Plan {
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
	return &Plan{Project: e.project, Stack: e.stack, Resources: ordered, Outputs: outputs}
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
		return secretPlaceholder
	case v.IsComputed():
		return "[unknown]"
	case v.IsOutput():
		o := v.OutputValue()
		switch {
		case o.Secret:
			return secretPlaceholder
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
