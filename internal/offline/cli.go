package offline

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"coldchain/internal/change"

	"gopkg.in/yaml.v3"
)

// This file is the plan command of a program: loading Pulumi.<stack>.yaml as the Pulumi CLI
// would pass it, the flags, and printing the plan as a tree or JSON.

// LoadStackConfig reads the config of Pulumi.<stack>.yaml in dir, as the CLI would pass it to
// the program: namespaced keys, every value a string (objects and lists as JSON), and each
// encrypted value as a placeholder.
func LoadStackConfig(dir, project, stack string) (map[string]string, error) {
	path := dir + "/Pulumi." + stack + ".yaml"
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("stack %q has no config file %s; the stacks here are: %s", stack, path, strings.Join(stackFiles(dir), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the config of stack %q: %w", stack, err)
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	raw := map[string]string{}
	for key, value := range file.Config {
		raw[Qualify(project, key)] = configString(value)
	}
	return raw, nil
}

// Qualify gives a bare config key the project's namespace, as "pulumi config set" does:
// "vpcCidr" is "coldchain:vpcCidr"; "aws:region" stays as it is.
func Qualify(project, key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return project + ":" + key
}

// stackFiles lists the stacks that have a Pulumi.<stack>.yaml in dir.
func stackFiles(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	var stacks []string
	for _, m := range matches {
		stacks = append(stacks, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "Pulumi."), ".yaml"))
	}
	sort.Strings(stacks)
	if len(stacks) == 0 {
		return []string{"none"}
	}
	return stacks
}

// configString renders one YAML config value the way the Pulumi CLI hands it to a program.
func configString(value any) string {
	switch v := value.(type) {
	case string:
		return v
	case map[string]any:
		if _, ok := v["secure"]; ok && len(v) == 1 {
			return SecretPlaceholder
		}
	case nil:
		return ""
	case bool, int, float64:
		return fmt.Sprint(v)
	}
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Sprint(value)
	}
	return string(b)
}

// ReadProjectName reads the project name from Pulumi.yaml in dir.
func ReadProjectName(dir string) (string, error) {
	data, err := os.ReadFile(dir + "/Pulumi.yaml")
	if err != nil {
		return "", fmt.Errorf("reading the project file: %w", err)
	}
	var project struct {
		Name string `yaml:"name"`
	}
	if err := yaml.Unmarshal(data, &project); err != nil || project.Name == "" {
		return "", errors.New("no project name in Pulumi.yaml")
	}
	return project.Name, nil
}

// Overrides collects repeated -c key=value flags.
type Overrides []string

func (o *Overrides) String() string { return strings.Join(*o, ",") }
func (o *Overrides) Set(v string) error {
	if !strings.Contains(v, "=") || strings.HasPrefix(v, "=") {
		return fmt.Errorf("want key=value, got %q", v)
	}
	*o = append(*o, v)
	return nil
}

// StackConfig is the config of Pulumi.<stack>.yaml in dir with the overrides applied, as the
// CLI would pass it to the program.
func StackConfig(dir, project, stack string, sets Overrides) (map[string]string, error) {
	raw, err := LoadStackConfig(dir, project, stack)
	if err != nil {
		return nil, err
	}
	for _, kv := range sets {
		key, value, _ := strings.Cut(kv, "=")
		raw[Qualify(project, key)] = value
	}
	return raw, nil
}

// StackFlags are the flags of a command that runs a program on a stack: --stack and the -c
// overrides, besides the command's own.
type StackFlags struct {
	*flag.FlagSet
	Stack string
	Sets  Overrides
}

// NewStackFlags starts the flags of a command; usage is printed on misuse.
func NewStackFlags(command, usage string, stderr io.Writer) *StackFlags {
	f := &StackFlags{FlagSet: flag.NewFlagSet(command, flag.ContinueOnError)}
	f.SetOutput(stderr)
	f.StringVar(&f.Stack, "stack", "production", "the stack whose Pulumi.<stack>.yaml is used")
	f.Var(&f.Sets, "c", "override a config value, key=value (repeatable; bare keys get the project's namespace)")
	f.Usage = func() { fmt.Fprint(stderr, usage) }
	return f
}

// Parse parses the arguments; when it returns false, the command exits with code: 0 after
// -help, 2 for a misuse (already reported).
func (f *StackFlags) Parse(args []string) (code int, ok bool) {
	if err := f.FlagSet.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0, false
	} else if err != nil {
		return 2, false
	}
	return 0, true
}

// Config is the project's name and the stack's config with the overrides, read in dir.
func (f *StackFlags) Config(dir string) (project string, raw map[string]string, err error) {
	if project, err = ReadProjectName(dir); err != nil {
		return "", nil, err
	}
	raw, err = StackConfig(dir, project, f.Stack, f.Sets)
	return project, raw, err
}

// PlanFunc plans a stack of the program from its raw config, with the engine's options.
type PlanFunc func(project, stack string, raw map[string]string, opts ...Option) (*Plan, error)

// An InputError is a program's refusal of its config: the plan command prints it as it is, as
// the program's answer to what the user gave it.
type InputError interface {
	error
	InputError()
}

// Command is "plan [--stack NAME] [--json] [--against BEFORE.json] [-c key=value ...]" of a
// program in the current directory: it reads the stack's file, applies the overrides, plans
// with plan and prints the result: the plan, or with --against what "pulumi up" would change in
// a stack that holds BEFORE (an earlier plan's JSON, or "pulumi stack export"). usage is printed
// on misuse. It returns the process exit status: 0 for a plan, 1 for bad config or a failed
// run, 2 for bad usage.
func Command(args []string, stdout, stderr io.Writer, usage string, plan PlanFunc) int {
	return CommandIn(".", args, stdout, stderr, usage, plan)
}

// CommandIn is Command of a program whose Pulumi.yaml and stack files are in dir.
func CommandIn(dir string, args []string, stdout, stderr io.Writer, usage string, plan PlanFunc) int {
	flags := NewStackFlags("plan", usage, stderr)
	asJSON := flags.Bool("json", false, "print the plan as JSON instead of a tree")
	against := flags.String("against", "", "print what pulumi up would change in a stack that holds this plan JSON or stack export")
	if code, ok := flags.Parse(args); !ok {
		return code
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "plan: unexpected argument %q\n", flags.Arg(0))
		flags.Usage()
		return 2
	}
	project, raw, err := flags.Config(dir)
	if err != nil {
		fmt.Fprintln(stderr, "plan:", err)
		return 1
	}

	stack := flags.Stack
	var before *Plan
	var opts []Option
	if *against != "" {
		if before, err = change.Load(*against); err != nil {
			fmt.Fprintln(stderr, "plan --against:", err)
			return 1
		}
		if before.Account != "" {
			// A stack export holds the real account's ARNs and names: plan in it.
			opts = append(opts, InAccount(before.Account))
		}
	}
	p, err := plan(project, stack, raw, opts...)
	var input InputError
	switch {
	case errors.As(err, &input):
		fmt.Fprintf(stderr, "stack %s: %s\n", stack, input.Error())
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "plan of stack %s failed: %s\n", stack, strings.TrimSpace(err.Error()))
		return 1
	}
	if before != nil {
		preview := change.Compute(before, p)
		if *asJSON {
			if err := writeJSON(stdout, preview); err != nil {
				fmt.Fprintln(stderr, "plan:", err)
				return 1
			}
			return 0
		}
		preview.Write(stdout, *against)
		for _, warning := range p.Warnings {
			fmt.Fprintln(stdout, "\nwarning: "+warning)
		}
		return 0
	}
	if *asJSON {
		if err := WriteJSON(stdout, p); err != nil {
			fmt.Fprintln(stderr, "plan:", err)
			return 1
		}
		return 0
	}
	PrintTree(stdout, p)
	return 0
}

// WriteJSON writes the plan as indented JSON, the shape tooling reads.
func WriteJSON(w io.Writer, p *Plan) error { return writeJSON(w, p) }

// writeJSON writes a value as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// PrintTree prints the plan as the indented tree "pulumi preview" shows, with the options that
// matter in review, then the stack outputs.
func PrintTree(w io.Writer, p *Plan) {
	modeled := 0
	byID := map[string]*PlanResource{}
	for _, r := range p.Resources {
		if r.ModeledBy != "" {
			modeled++
		}
		if r.Custom {
			byID[r.ID] = r
		}
	}
	fmt.Fprintf(w, "Plan of %s/%s: %d resources to create", p.Project, p.Stack, len(p.Resources))
	if modeled > 0 {
		fmt.Fprintf(w, ", %d of them modeled from the source of the remote components that create them", modeled)
	}
	fmt.Fprint(w, "\n\n")
	depth := map[string]int{}
	for _, r := range p.Resources {
		d := 0
		if pd, ok := depth[r.Parent]; ok {
			d = pd + 1
		}
		depth[r.URN] = d
		line := strings.Repeat("    ", d) + "+ " + r.Type + "  " + r.Name
		if physical := physicalName(r); physical != "" && physical != r.Name {
			line += "  (" + physical + ")"
		} else if d := networkDetail(r, byID); d != "" {
			line += "  (" + d + ")"
		}
		var flags []string
		if r.Remote {
			flags = append(flags, "remote component")
		}
		if r.ModeledBy != "" {
			flags = append(flags, "modeled from "+r.ModeledBy)
		}
		if r.Protect {
			flags = append(flags, "protected")
		}
		if r.RetainOnDelete {
			flags = append(flags, "retained on delete")
		}
		if r.DeleteBeforeReplace {
			flags = append(flags, "delete before replace")
		}
		if len(r.IgnoreChanges) > 0 {
			flags = append(flags, "ignores changes to "+strings.Join(r.IgnoreChanges, ", "))
		}
		if len(flags) > 0 {
			line += "  [" + strings.Join(flags, "; ") + "]"
		}
		fmt.Fprintln(w, line)
	}
	for _, warning := range p.Warnings {
		fmt.Fprintln(w, "\nwarning: "+warning)
	}
	fmt.Fprintln(w, "\nOutputs:")
	names := make([]string, 0, len(p.Outputs))
	for name := range p.Outputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, _ := json.Marshal(p.Outputs[name])
		fmt.Fprintf(w, "    %s: %s\n", name, b)
	}
}

// networkDetail is what a reviewer reads of a subnet or route: its range and zone, or where it
// sends traffic.
func networkDetail(r *PlanResource, byID map[string]*PlanResource) string {
	switch r.Type {
	case "aws:ec2/subnet:Subnet":
		return r.In("cidrBlock") + " in " + r.In("availabilityZone")
	case "aws:ec2/route:Route":
		for _, key := range []string{"gatewayId", "natGatewayId"} {
			if target := byID[r.In(key)]; target != nil {
				return r.In("destinationCidrBlock") + " to " + target.Type[strings.LastIndex(target.Type, ":")+1:] + " " + target.Name
			}
		}
	}
	return ""
}

// physicalName is the name AWS will know a resource by, where it has one: the autonamed
// property, or the name the program sets.
func physicalName(r *PlanResource) string {
	props := []string{"identifier", "name", "dashboardName"}
	if r.Type == "aws:s3/bucketV2:BucketV2" {
		props = []string{"bucket"}
	} else if prop, ok := AutonamedProperty(r.Type); ok {
		props = []string{prop}
	}
	for _, prop := range props {
		if s, ok := r.Outputs[prop].(string); ok {
			return s
		}
	}
	return ""
}
