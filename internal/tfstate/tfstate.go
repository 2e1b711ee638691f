// Package tfstate reads a Terraform state file, format version 4, as "terraform state pull"
// writes it, into the managed resource instances it records. It knows Terraform's format and
// nothing of any one configuration.
package tfstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// FormatVersion is the only state format this package reads: Terraform 0.12 and later write it.
const FormatVersion = 4

// State is what a state file records: its header and every managed resource instance.
type State struct {
	TerraformVersion string
	Serial           int64
	Lineage          string
	Resources        []*Resource
}

// Resource is one instance of a managed resource: "aws_db_instance.main", or
// "module.vpc.aws_subnet.public[0]" for one of several.
type Resource struct {
	// Address is the instance's address as Terraform's CLI takes it ("terraform state rm").
	Address string
	// Type is the resource type, "aws_db_instance".
	Type string
	// Provider is the provider configuration's address,
	// `provider["registry.terraform.io/hashicorp/aws"]`, with ".<alias>" for an aliased one.
	Provider string
	// Attributes are the instance's attributes as the provider last saw them.
	Attributes map[string]any
}

// provider splits the provider configuration's address into the provider's type and alias:
// `provider["registry.terraform.io/hashicorp/aws"].east` (Terraform 0.13 and later) and
// `provider.aws.east` (0.12), either after a module path.
func (r *Resource) provider() (typ, alias string) {
	p := r.Provider
	if open := strings.Index(p, `provider["`); open >= 0 {
		rest := p[open+len(`provider["`):]
		end := strings.Index(rest, `"]`)
		if end < 0 {
			return "", ""
		}
		source := rest[:end]
		return source[strings.LastIndex(source, "/")+1:], strings.TrimPrefix(rest[end+2:], ".")
	}
	if i := strings.Index(p, "provider."); i >= 0 {
		typ, alias, _ = strings.Cut(p[i+len("provider."):], ".")
		return typ, alias
	}
	return "", ""
}

// Aliased is true for a resource of an aliased provider configuration (another region or
// account, usually).
func (r *Resource) Aliased() bool {
	_, alias := r.provider()
	return alias != ""
}

// ProviderType is the provider's type, "aws" for registry.terraform.io/hashicorp/aws.
func (r *Resource) ProviderType() string {
	typ, _ := r.provider()
	return typ
}

// Objects is a Terraform list of objects (a block's elements).
func Objects(v any) []map[string]any {
	var out []map[string]any
	items, _ := v.([]any)
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// StringList is a Terraform list or set of strings, without repeats.
func StringList(v any) []string {
	var out []string
	items, _ := v.([]any)
	for _, item := range items {
		if s, ok := item.(string); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Decode reads an attribute that holds a JSON document (a policy, container definitions).
func (r *Resource) Decode(name string, into any) error {
	return json.Unmarshal([]byte(r.String(name)), into)
}

// String is the attribute's value if it is a string, else "".
func (r *Resource) String(name string) string {
	s, _ := r.Attributes[name].(string)
	return s
}

// Strings is the attribute's value if it is a list or set of strings, else nil.
func (r *Resource) Strings(name string) []string { return StringList(r.Attributes[name]) }

// file is the part of the state file this package reads.
type file struct {
	Version          *int   `json:"version"`
	TerraformVersion string `json:"terraform_version"`
	Serial           int64  `json:"serial"`
	Lineage          string `json:"lineage"`
	Resources        []struct {
		Module    string `json:"module"`
		Mode      string `json:"mode"`
		Type      string `json:"type"`
		Name      string `json:"name"`
		Provider  string `json:"provider"`
		Instances []struct {
			IndexKey any `json:"index_key"`
			// Deposed names an object that a create-before-destroy replacement left behind,
			// which the next apply destroys; it still exists.
			Deposed    string         `json:"deposed"`
			Attributes map[string]any `json:"attributes"`
			// AttributesFlat is the format of version 3, which version 4 files no longer use.
			AttributesFlat map[string]string `json:"attributes_flat"`
		} `json:"instances"`
	} `json:"resources"`
}

// Parse reads a state file. It refuses what is not a version 4 state, and a state that
// records no managed resource (an empty or destroyed configuration, or the wrong file).
func Parse(data []byte) (*State, error) {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		var wrongType *json.UnmarshalTypeError
		if errors.As(err, &wrongType) {
			return nil, fmt.Errorf("not a Terraform state file: %q is a JSON %s where the format has another type", wrongType.Field, wrongType.Value)
		}
		return nil, fmt.Errorf("not a Terraform state file: not JSON (%v)", err)
	}
	if f.Version == nil {
		return nil, errors.New(`not a Terraform state file: no "version"`)
	}
	if *f.Version != FormatVersion {
		return nil, fmt.Errorf("state format version %d: only version %d (Terraform 0.12 and later) is read; "+
			"pull the state with a current Terraform (terraform state pull)", *f.Version, FormatVersion)
	}
	s := &State{TerraformVersion: f.TerraformVersion, Serial: f.Serial, Lineage: f.Lineage}
	for _, r := range f.Resources {
		if r.Mode != "managed" {
			continue // data sources are read, not managed
		}
		for _, inst := range r.Instances {
			if inst.Attributes == nil && inst.AttributesFlat != nil {
				return nil, fmt.Errorf("%s: flat attributes of an old state format; pull the state with a current Terraform", address(r.Module, r.Type, r.Name, inst.IndexKey))
			}
			addr := address(r.Module, r.Type, r.Name, inst.IndexKey)
			if inst.Deposed != "" {
				addr += " (deposed object " + inst.Deposed + ")"
			}
			s.Resources = append(s.Resources, &Resource{
				Address:    addr,
				Type:       r.Type,
				Provider:   r.Provider,
				Attributes: inst.Attributes,
			})
		}
	}
	if len(s.Resources) == 0 {
		return nil, errors.New("the Terraform state records no managed resource: nothing to adopt (is it the right file, and was it pulled before a destroy?)")
	}
	sort.SliceStable(s.Resources, func(i, j int) bool { return s.Resources[i].Address < s.Resources[j].Address })
	return s, nil
}

// address is the instance address Terraform prints: module path, type, name and index key.
func address(module, typ, name string, key any) string {
	a := typ + "." + name
	if module != "" {
		a = module + "." + a
	}
	switch k := key.(type) {
	case float64:
		a += "[" + strconv.FormatFloat(k, 'f', -1, 64) + "]"
	case string:
		a += "[" + strconv.Quote(k) + "]"
	}
	return a
}

// arnPattern matches the partition, service, region and account of an ARN.
var arnPattern = regexp.MustCompile(`^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:`)

// Placement is where the resources of a state live: the regions and accounts their ARNs name,
// with the number of resources in each.
type Placement struct {
	Regions  map[string]int
	Accounts map[string]int
}

// Placement reads the region and account of every resource of the default (unaliased)
// provider configuration of a type from its "arn" attribute. Global services (IAM) name no
// region.
func (s *State) Placement(providerType string) Placement {
	p := Placement{Regions: map[string]int{}, Accounts: map[string]int{}}
	for _, r := range s.Resources {
		if r.ProviderType() != providerType || r.Aliased() {
			continue
		}
		m := arnPattern.FindStringSubmatch(r.String("arn"))
		if m == nil {
			continue
		}
		if m[3] != "" {
			p.Regions[m[3]]++
		}
		if m[4] != "" {
			p.Accounts[m[4]]++
		}
	}
	return p
}
