package change

import (
	"coldchain/internal/plan"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Load reads what a stack holds, to preview a change against: the JSON of "plan --json" (an
// earlier plan of the program), or of "pulumi stack export" (the stack as deployed), whose
// resources become a plan's: the inputs the program set (those the provider filled in by
// default, listed in "__defaults", left out), outputs, options; secrets as "[secret]".
func Load(path string) (*plan.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var probe struct {
		Deployment *json.RawMessage `json:"deployment"`
		Resources  *json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s is not JSON: %w", path, err)
	}
	switch {
	case probe.Deployment != nil:
		return fromStackExport(data, path)
	case probe.Resources != nil:
		var p plan.Plan
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("%s is not a plan of \"plan --json\": %w", path, err)
		}
		return &p, nil
	}
	return nil, fmt.Errorf("%s is neither a plan (\"go run . plan --json\") nor a stack export (\"pulumi stack export\")", path)
}

// exportedResource is a resource of a stack export (apitype.ResourceV3).
type exportedResource struct {
	URN                 string         `json:"urn"`
	Custom              bool           `json:"custom"`
	ID                  string         `json:"id"`
	Type                string         `json:"type"`
	Inputs              map[string]any `json:"inputs"`
	Outputs             map[string]any `json:"outputs"`
	Parent              string         `json:"parent"`
	Protect             bool           `json:"protect"`
	RetainOnDelete      bool           `json:"retainOnDelete"`
	Provider            string         `json:"provider"`
	Dependencies        []string       `json:"dependencies"`
	Delete              bool           `json:"delete"`
	PendingReplacement  bool           `json:"pendingReplacement"`
	DeleteBeforeReplace *bool          `json:"deleteBeforeReplace"`
	IgnoreChanges       []string       `json:"ignoreChanges"`
}

// accountInARN finds the account id in an ARN.
var accountInARN = regexp.MustCompile(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):`)

// fromStackExport turns a stack export into a plan.
func fromStackExport(data []byte, path string) (*plan.Plan, error) {
	var export struct {
		Version    int `json:"version"`
		Deployment struct {
			Resources []exportedResource `json:"resources"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal(data, &export); err != nil {
		return nil, fmt.Errorf("%s is not a stack export: %w", path, err)
	}
	if export.Version != 3 {
		return nil, fmt.Errorf("%s is a stack export of version %d; this reads version 3 (pulumi stack export)", path, export.Version)
	}
	p := &plan.Plan{Deployed: true}
	for _, r := range export.Deployment.Resources {
		if r.Delete || r.PendingReplacement {
			continue // the remains of an interrupted replacement, deleted by the next update
		}
		if r.Type == "pulumi:pulumi:Stack" {
			if p.Project == "" {
				parts := strings.Split(r.URN, "::")
				if len(parts) >= 2 {
					p.Stack, p.Project = strings.TrimPrefix(parts[0], "urn:pulumi:"), parts[1]
				}
			}
			continue
		}
		inputs, _ := plainState(r.Inputs).(map[string]any)
		if inputs == nil {
			inputs = map[string]any{}
		}
		if defaults, ok := r.Inputs["__defaults"].([]any); ok {
			for _, key := range defaults {
				if k, ok := key.(string); ok {
					delete(inputs, k)
				}
			}
		}
		outputs, _ := plainState(r.Outputs).(map[string]any)
		if arn, ok := outputs["arn"].(string); ok && p.Account == "" {
			if m := accountInARN.FindStringSubmatch(arn); m != nil {
				p.Account = m[1]
			}
		}
		name := r.URN[strings.LastIndex(r.URN, "::")+2:]
		pr := &plan.PlanResource{
			URN: r.URN, Type: r.Type, Name: name, Custom: r.Custom, Parent: r.Parent, Provider: r.Provider,
			Protect: r.Protect, RetainOnDelete: r.RetainOnDelete, IgnoreChanges: r.IgnoreChanges,
			DependsOn: r.Dependencies, Inputs: inputs, Outputs: outputs, ID: r.ID,
		}
		if r.DeleteBeforeReplace != nil {
			pr.DeleteBeforeReplace, pr.DeleteBeforeReplaceDefined = *r.DeleteBeforeReplace, true
		}
		if parent := r.Parent; parent != "" && strings.Contains(parent, "pulumi:pulumi:Stack") {
			pr.Parent = ""
		}
		p.Resources = append(p.Resources, pr)
	}
	if p.Project == "" {
		return nil, fmt.Errorf("%s holds no stack resource: not a stack export", path)
	}
	return p, nil
}

// Signatures of the special values of Pulumi's state (sdk/go/common/resource/sig).
const (
	sigKey      = "4dabf18193072939515e22adb298388d"
	sigSecret   = "1b47061264138c4ac30d75fd1eb44270"
	sigResource = "5cf8f73096256a8f31e491e813e4eb8e"
)

// plainState turns a state value into a plan's: a secret is "[secret]", a resource reference
// its URN, engine bookkeeping ("__defaults", "__meta") dropped.
func plainState(v any) any {
	switch x := v.(type) {
	case map[string]any:
		switch x[sigKey] {
		case sigSecret:
			return plan.SecretPlaceholder
		case sigResource:
			return x["urn"]
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if strings.HasPrefix(k, "__") {
				continue
			}
			out[k] = plainState(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainState(e)
		}
		return out
	}
	return v
}
