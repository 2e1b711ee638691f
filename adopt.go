package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"

	"coldchain/internal/adopt"
	"coldchain/internal/offline"
	"coldchain/internal/schema"
	"coldchain/internal/tfstate"
)

// This file is "go run . adopt": the move of a running Terraform estate under this stack
// without recreating it. internal/adopt pairs the plan with the state and writes the import
// file; this file says which config keeps what Terraform built (the database's identifier, the
// bucket names, the subnet layout), which only this program knows.

// adoptUsage is printed on misuse of adopt.
const adoptUsage = `usage: go run . adopt --tfstate FILE [--stack NAME] [-c key=value ...] [--out FILE]
                        [--security-group-rules FILE]

Pairs every resource the stack would create with the one the Terraform state manages, by type
and physical identity, and prints what is adopted (and what "pulumi up" then changes), what is
created, what stays Terraform's, and the config values that keep what exists. Writes the file
"pulumi import --file" takes, unless something stateful would be replaced or left behind
(exit status 1, nothing written). docs/migrating-from-terraform.md, is the runbook.

  --tfstate FILE               the state, as "terraform state pull" writes it
  --stack NAME                 the stack whose Pulumi.NAME.yaml is planned (default production)
  -c key=value                 override a config value (repeatable)
  --out FILE                   the import file (default pulumi-import-<stack>.json)
  --security-group-rules FILE  "aws ec2 describe-security-group-rules --filters
                               Name=group-id,Values=<the estate's groups> --output json", for the
                               rules Terraform keeps without their ids (inline rules)
`

// adoptCommand runs adopt and returns the exit status: 0 with the import file written, 1 for
// bad input or a refused migration, 2 for bad usage.
func adoptCommand(args []string, stdout, stderr io.Writer, planner offline.PlanFunc) int {
	flags := offline.NewStackFlags("adopt", adoptUsage, stderr)
	statePath := flags.String("tfstate", "", "the Terraform state")
	out := flags.String("out", "", "the import file")
	rulesPath := flags.String("security-group-rules", "", "AWS's list of the security group rules")
	if code, ok := flags.Parse(args); !ok {
		return code
	}
	if flags.NArg() > 0 || *statePath == "" {
		fmt.Fprintln(stderr, "adopt: --tfstate FILE is required, and nothing else")
		flags.Usage()
		return 2
	}
	stack := flags.Stack
	if *out == "" {
		*out = "pulumi-import-" + stack + ".json"
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "adopt: "+format+"; nothing written\n", args...)
		return 1
	}

	state, err := readInput("--tfstate", *statePath, tfstate.Parse)
	if err != nil {
		return fail("%v", err)
	}
	var rules *adopt.AWSRules
	if *rulesPath != "" {
		if rules, err = readInput("--security-group-rules", *rulesPath, adopt.ParseAWSRules); err != nil {
			return fail("%v", err)
		}
	}
	project, raw, err := flags.Config(".")
	if err != nil {
		return fail("%v", err)
	}
	res, err := adoptStack(planner, project, stack, raw, state, rules)
	if err != nil {
		return fail("stack %s: %v", stack, err)
	}
	res.WriteReport(stdout)
	writeRerun(stdout, *statePath, stack, *out, *rulesPath, flags.Sets, res)
	if !res.OK() {
		return fail("the migration is refused (above)")
	}
	files := res.ImportFiles()
	paths, err := adopt.WriteImportFiles(*out, files)
	if err != nil {
		return fail("%v", err)
	}
	writeNextSteps(stdout, stack, paths, files, res)
	return 0
}

// writeRerun prints, when the report suggests config or asks for AWS's list of the security
// group rules, the adopt command that tries it all before anything is set: the -c values given
// and suggested (a suggested one over a given one of its key), and the rules file with the
// command that writes it.
func writeRerun(w io.Writer, statePath, stack, out, rulesPath string, given offline.Overrides, res *adopt.Result) {
	if len(res.Suggestions) == 0 && (len(res.RuleGroups) == 0 || rulesPath != "") {
		return
	}
	suggested := map[string]bool{}
	for _, s := range res.Suggestions {
		suggested[s.Key] = true
	}
	args := []string{"go", "run", ".", "adopt", "--tfstate", statePath, "--stack", stack}
	if out != "pulumi-import-"+stack+".json" {
		args = append(args, "--out", out)
	}
	if len(res.RuleGroups) > 0 && rulesPath == "" {
		rulesPath = "security-group-rules.json"
		fmt.Fprintf(w, "\nAWS's list of the rules of %s, which the import needs the ids of:\n", strings.Join(res.RuleGroups, ", "))
		fmt.Fprintf(w, "  aws ec2 describe-security-group-rules --filters Name=group-id,Values=%s --output json > %s\n",
			strings.Join(res.RuleGroups, ","), rulesPath)
	}
	if rulesPath != "" {
		args = append(args, "--security-group-rules", rulesPath)
	}
	for _, kv := range given {
		if key, _, _ := strings.Cut(kv, "="); !suggested[key] {
			args = append(args, "-c", kv)
		}
	}
	for _, s := range res.Suggestions {
		args = append(args, "-c", s.Key+"="+s.Value)
	}
	for i, a := range args {
		args[i] = adopt.ShellQuote(a)
	}
	fmt.Fprintf(w, "\nThe same run with all of it, to try before setting anything:\n  %s\n", strings.Join(args, " "))
}

// readInput reads the file a flag names and parses it; errors name the flag and the file.
func readInput[T any](flag, path string, parse func([]byte) (T, error)) (T, error) {
	var v T
	data, err := os.ReadFile(path)
	if err != nil {
		return v, fmt.Errorf("%s: %w", flag, err)
	}
	if v, err = parse(data); err != nil {
		return v, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return v, nil
}

// adoptStack plans the stack with planner (the program's planStack, which main.go hands the
// command) and pairs the plan with the state.
func adoptStack(planner offline.PlanFunc, project, stack string, raw map[string]string, state *tfstate.State, rules *adopt.AWSRules) (*adopt.Result, error) {
	cfg, err := loadConfig(project, stack, raw)
	if err != nil {
		return nil, err
	}
	// Plan in the estate's account, so that ARNs, policies and the names derived from the
	// account are what AWS has (adopt checks the account is one the stack may deploy into).
	var opts []offline.Option
	if accounts := state.Placement("aws").Accounts; len(accounts) == 1 {
		for account := range accounts {
			if slices.Contains(cfg.AllowedAccountIDs, account) {
				opts = append(opts, offline.InAccount(account))
			}
		}
	}
	plan, err := planner(project, stack, raw, opts...)
	if err != nil {
		return nil, err
	}
	res, err := adopt.Adopt(plan, state, adopt.Options{
		Region: cfg.Region, Accounts: cfg.AllowedAccountIDs, Stack: stack, Rules: rules, Suggest: configSuggestion(cfg),
	})
	if err != nil {
		return nil, err
	}
	suggestSubnetLayout(cfg, plan, state, res)
	keepServicesRunning(cfg, state, res)
	return res, nil
}

// keepServicesRunning refuses a migration that would leave Terraform's services to Terraform
// because the stack does not deploy its own yet (an image tag unset): retiring Terraform would
// stop the application. It suggests the tag each service runs now.
func keepServicesRunning(cfg *Config, state *tfstate.State, res *adopt.Result) {
	var services []*tfstate.Resource
	for _, r := range state.Resources {
		if r.Type == "aws_ecs_service" {
			services = append(services, r)
		}
	}
	for _, svc := range cfg.Services {
		if svc.ImageTag != "" || len(services) == 0 {
			continue
		}
		var running []string
		for _, t := range services {
			running = append(running, t.Address)
			if !strings.Contains(t.String("name"), svc.Name) {
				continue
			}
			if tag := runningTag(state, t, svc.Name); tag != "" {
				res.Suggest(adopt.Suggestion{Key: svc.Name + "ImageTag", Value: tag, Keeps: "the image " + t.Address + " runs"})
			}
		}
		res.Refuse(fmt.Sprintf("Terraform runs services (%s), but the stack deploys %s only once %sImageTag is set: "+
			"set it to the image the service runs now, or retiring Terraform would stop the application",
			strings.Join(running, ", "), svc.Name, svc.Name))
	}
}

// runningTag is the tag of the image a Terraform service's task definition runs in the
// container of a name (or its only container).
func runningTag(state *tfstate.State, service *tfstate.Resource, container string) string {
	for _, r := range state.Resources {
		if r.Type != "aws_ecs_task_definition" || r.String("arn") != service.String("task_definition") {
			continue
		}
		var defs []struct{ Name, Image string }
		if r.Decode("container_definitions", &defs) != nil {
			return ""
		}
		for _, d := range defs {
			if d.Name == container || len(defs) == 1 {
				if i := strings.LastIndex(d.Image, ":"); i > strings.LastIndex(d.Image, "/") && !strings.Contains(d.Image, "@") {
					return d.Image[i+1:]
				}
			}
		}
	}
	return ""
}

// configSuggestion names, for a change on an adopted resource, the config value that keeps
// what Terraform built: its names, its engine versions and sizes that cannot go back, and the
// keys of its encryption, which only a replacement changes.
func configSuggestion(cfg *Config) func(*offline.PlanResource, adopt.Change, *tfstate.Resource) (string, string, bool) {
	return func(r *offline.PlanResource, c adopt.Change, t *tfstate.Resource) (string, string, bool) {
		attr := func(name string) (string, string, bool) { return "", t.String(name), t.String(name) != "" }
		key := func(k string) func(string, string, bool) (string, string, bool) {
			return func(_, v string, ok bool) (string, string, bool) { return k, v, ok }
		}
		switch r.Type + " " + c.Input {
		case "aws:rds/instance:Instance identifier":
			return key("dbIdentifier")(attr("identifier"))
		case "aws:rds/instance:Instance instanceClass":
			return key("dbInstanceClass")(attr("instance_class"))
		case "aws:rds/instance:Instance engineVersion":
			major, _, _ := strings.Cut(t.String("engine_version"), ".")
			return "dbEngineVersion", major, major != ""
		case "aws:rds/instance:Instance dbName":
			return key("dbName")(attr("db_name"))
		case "aws:rds/instance:Instance username":
			return key("dbUsername")(attr("username"))
		case "aws:rds/instance:Instance allocatedStorage":
			// Storage only grows: keep Terraform's when it is larger.
			if size := scalarInt(t.Attributes["allocated_storage"]); size > cfg.Database.AllocatedStorage {
				return "dbAllocatedStorage", fmt.Sprint(size), true
			}
		case "aws:rds/instance:Instance kmsKeyId":
			return key("dbKmsKey")(attr("kms_key_id"))
		case "aws:elasticache/replicationGroup:ReplicationGroup kmsKeyId":
			if k := t.String("kms_key_id"); k != "" {
				return "redisKmsKey", k, true
			}
			return "redisKmsKey", awsOwnedKey, true
		case "aws:elasticache/replicationGroup:ReplicationGroup engineVersion":
			// An upgrade happens in place; only a downgrade, which replaces the cache, needs
			// Terraform's version kept (and only that engine has it).
			if t.String("engine") == cfg.Database.RedisEngine && schema.VersionLater(t.String("engine_version"), cfg.Database.RedisEngineVersion) {
				return key("redisEngineVersion")(attr("engine_version"))
			}
		case "aws:elasticache/replicationGroup:ReplicationGroup engine":
			// Redis OSS to Valkey is an in-place upgrade the team may choose later (README,
			// "Changing a stack"); the migration keeps the engine the estate runs.
			return key("redisEngine")(attr("engine"))
		case "aws:elasticache/replicationGroup:ReplicationGroup nodeType":
			return key("redisNodeType")(attr("node_type"))
		case "aws:s3/bucketV2:BucketV2 bucket":
			return key(r.Name + "BucketName")(attr("bucket"))
		case "aws:ecr/repository:Repository name":
			return key(r.Name + "RepositoryName")(attr("name"))
		case "aws:ecr/repository:Repository encryptionConfigurations":
			for _, e := range tfstate.Objects(t.Attributes["encryption_configuration"]) {
				if e["encryption_type"] == "AES256" {
					return "ecrEncryption", "AES256", true
				}
			}
		case "aws:ecs/cluster:Cluster name":
			return key("clusterName")(attr("name"))
		case "aws:ecs/service:Service name":
			return key(r.Name + "ServiceName")(attr("name"))
		case "aws:cloudwatch/logGroup:LogGroup name":
			for _, svc := range cfg.Services {
				if svc.Name == r.Name {
					return key(r.Name + "LogGroupName")(attr("name"))
				}
			}
		case "aws:ec2/vpc:Vpc cidrBlock":
			return key("vpcCidr")(attr("cidr_block"))
		case "aws:route53/record:Record zoneId":
			return key("hostedZoneId")(attr("zone_id"))
		case "aws:rds/parameterGroup:ParameterGroup parameters":
			return dbParametersKept(cfg, t)
		}
		return "", "", false
	}
}

// dbParametersKept is the dbParameters that keeps the parameters of Terraform's parameter
// group that the program's own do not set, or set to another value (all but rds.force_ssl,
// which the program keeps at 1).
func dbParametersKept(cfg *Config, t *tfstate.Resource) (string, string, bool) {
	kept := maps.Clone(cfg.Database.Parameters)
	for _, p := range tfstate.Objects(t.Attributes["parameter"]) {
		name, _ := p["name"].(string)
		value, _ := p["value"].(string)
		if own, ok := postgresParameters[name]; name == "" || name == "rds.force_ssl" || ok && own == value {
			continue
		}
		kept[name] = value
	}
	if len(kept) == 0 || maps.Equal(kept, cfg.Database.Parameters) {
		return "", "", false
	}
	data, err := json.Marshal(kept) // keys sorted
	if err != nil {
		panic(err) // strings only
	}
	return "dbParameters", string(data), true
}

// scalarInt is a Terraform number as an int.
func scalarInt(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// suggestSubnetLayout suggests the subnet CIDRs that keep Terraform's subnets, when its VPC is
// adopted: the subnets of the database's and the cache's subnet groups are the isolated tier,
// those of the internet-facing load balancer the public tier, and those the ECS services run
// in the private tier, each in the order of the stack's availability zones.
//
// The seed's own layout has two tiers: the database and the cache live in the private subnets,
// beside the tasks. RDS moves an instance to other subnets of its VPC only by a restore, so
// the data stays where it is: those subnets become the isolated tier (adopted as they are,
// ids and CIDRs; the route to the NAT gateway their tables keep is harmless to the data and
// removed once the tasks have left), and the tasks move to new private subnets from the VPC's
// free space, which the first "pulumi up" creates and the services roll onto.
func suggestSubnetLayout(cfg *Config, plan *offline.Plan, state *tfstate.State, res *adopt.Result) {
	var vpc *tfstate.Resource
	var zones []string
	for _, a := range res.Adopted {
		if a.Resource.Type == "aws:ec2/vpc:Vpc" {
			vpc = a.Terraform
		}
	}
	for _, r := range plan.Resources {
		if r.Type == "awsx:ec2:Vpc" {
			for _, z := range r.Inputs["availabilityZoneNames"].([]any) {
				zones = append(zones, z.(string))
			}
		}
	}
	if vpc == nil || len(zones) == 0 {
		return
	}
	subnets := map[string]*tfstate.Resource{}
	var inVPC []netip.Prefix
	for _, r := range state.Resources {
		if r.Type == "aws_subnet" && r.String("vpc_id") == vpc.String("id") {
			subnets[r.String("id")] = r
			if p, err := netip.ParsePrefix(r.String("cidr_block")); err == nil {
				inVPC = append(inVPC, p)
			}
		}
	}
	tiers := estateTiers(state)
	cidrOf := func(id string) string {
		if s := subnets[id]; s != nil {
			return s.String("cidr_block")
		}
		return "not in the state"
	}
	tasksMove := false
	for _, id := range tiers["isolated"] {
		switch {
		case slices.Contains(tiers["public"], id):
			res.Refuse(fmt.Sprintf("the database or the cache shares subnet %s (%s) with the load balancer: a public subnet, "+
				"which routes to the internet, and RDS moves an instance to other subnets of the same VPC only by a restore "+
				"from a snapshot. Move the load balancer to other public subnets first (docs/migrating-from-terraform.md)",
				id, cidrOf(id)))
			return
		case slices.Contains(tiers["private"], id):
			tasksMove = true
		}
	}
	// The estate's zones, where the data lives: the stack takes the region's first two unless
	// availabilityZones says which.
	var estateZones []string
	for _, id := range tiers["isolated"] {
		if s := subnets[id]; s != nil {
			estateZones = appendNew(estateZones, s.String("availability_zone"))
		}
	}
	slices.Sort(estateZones)
	if len(estateZones) == availabilityZoneCount && !slices.Equal(estateZones, zones) {
		zones = estateZones
		res.Suggest(adopt.Suggestion{Key: "availabilityZones", Value: "[" + quoteAll(zones) + "]",
			Keeps: "the zones " + strings.Join(zones, ", ") + " of the database's and the cache's subnets"})
	}
	keys := map[string]string{"public": "publicSubnetCidrs", "private": "privateSubnetCidrs", "isolated": "isolatedSubnetCidrs"}
	kept := []string{"public", "private", "isolated"}
	if tasksMove {
		kept = []string{"public", "isolated"}
	}
	layout := map[string][]string{}
	for _, tier := range kept {
		for _, zone := range zones {
			var cidrs []string
			for _, id := range tiers[tier] {
				if s := subnets[id]; s != nil && s.String("availability_zone") == zone {
					cidrs = append(cidrs, s.String("cidr_block"))
				}
			}
			if len(cidrs) != 1 {
				return // not one subnet of the tier per zone: no layout keeps them all
			}
			layout[tier] = append(layout[tier], cidrs[0])
		}
	}
	current := cfg.SubnetCidrs
	keeps := func(tier string) string {
		return "the " + tier + " subnets " + strings.Join(layout[tier], ", ") + " of " + vpc.Address
	}
	why := map[string]string{}
	if tasksMove {
		// New private subnets for the tasks: the configured ones if they are free, else the
		// largest free blocks of the VPC.
		vpcCidr, _ := netip.ParsePrefix(vpc.String("cidr_block"))
		if free(current["private"], vpcCidr, inVPC, len(zones)) {
			layout["private"] = current["private"]
		} else {
			blocks := freeBlocks(vpcCidr, inVPC, privateTier().extraBits, taskAddressesNeeded(cfg.maxTasks()...), len(zones))
			if blocks == nil {
				res.Refuse(fmt.Sprintf("the database or the cache shares its subnets with the tasks, which move to new private "+
					"subnets, but %s (%s) has no free range for %d of them that holds %d task addresses each: add a "+
					"secondary CIDR block or free a range, then set privateSubnetCidrs to it", vpc.Address,
					vpc.String("cidr_block"), len(zones), taskAddressesNeeded(cfg.maxTasks()...)))
				return
			}
			for _, b := range blocks {
				layout["private"] = append(layout["private"], b.String())
			}
		}
		why["isolated"] = keeps("isolated") + ", where the database and the cache live (the tasks' subnets until now)"
		why["private"] = "makes new private subnets for the tasks in free ranges of " + vpc.Address + " (" +
			vpc.String("cidr_block") + "): the services roll onto them, and the data stays where it is"
	}
	for _, tier := range []string{"public", "private", "isolated"} {
		if slices.Equal(current[tier], layout[tier]) && sameLayout(current, layout) {
			continue
		}
		s := adopt.Suggestion{Key: keys[tier], Value: "[" + quoteAll(layout[tier]) + "]", Keeps: keeps(tier)}
		switch {
		case why[tier] == "":
		case tier == "private":
			s.Keeps, s.Does = "", why[tier]
		default:
			s.Keeps = why[tier]
		}
		res.Suggest(s)
	}
}

// estateTiers are the estate's subnets by what Terraform runs in them, whether or not the
// stack adopts it yet: the database's and the cache's subnet groups (isolated), the ECS
// services (private), the internet-facing load balancer (public).
func estateTiers(state *tfstate.State) map[string][]string {
	tiers := map[string][]string{}
	groups := map[string]bool{}
	for _, r := range state.Resources {
		switch r.Type {
		case "aws_db_instance":
			groups["aws_db_subnet_group "+r.String("db_subnet_group_name")] = true
		case "aws_elasticache_replication_group":
			groups["aws_elasticache_subnet_group "+r.String("subnet_group_name")] = true
		}
	}
	for _, r := range state.Resources {
		switch r.Type {
		case "aws_db_subnet_group", "aws_elasticache_subnet_group":
			if groups[r.Type+" "+r.String("name")] {
				tiers["isolated"] = appendNew(tiers["isolated"], r.Strings("subnet_ids")...)
			}
		case "aws_ecs_service":
			for _, nc := range tfstate.Objects(r.Attributes["network_configuration"]) {
				tiers["private"] = appendNew(tiers["private"], tfstate.StringList(nc["subnets"])...)
			}
		case "aws_lb", "aws_alb":
			if r.String("load_balancer_type") == "application" && r.Attributes["internal"] != true {
				tiers["public"] = appendNew(tiers["public"], r.Strings("subnets")...)
			}
		}
	}
	return tiers
}

// free is true when a configured tier has a subnet per zone, each inside the VPC, and none
// overlaps a subnet the VPC has in the state (one outside Terraform's state is the team's to
// rule out: README says how).
func free(cidrs []string, vpc netip.Prefix, taken []netip.Prefix, zones int) bool {
	if len(cidrs) != zones {
		return false
	}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil || !contains(vpc, p) {
			return false
		}
		for _, t := range taken {
			if t.Overlaps(p) {
				return false
			}
		}
	}
	return true
}

// privateTier is the private tier of the program's subnet layout.
func privateTier() subnetTier {
	for _, t := range subnetTiers {
		if t.name == "private" {
			return t
		}
	}
	panic("no private tier")
}

// sameLayout is true when a configured layout already is Terraform's.
func sameLayout(a, b map[string][]string) bool {
	for tier, cidrs := range b {
		if !slices.Equal(a[tier], cidrs) {
			return false
		}
	}
	return true
}

func quoteAll(cidrs []string) string {
	quoted := make([]string, len(cidrs))
	for i, c := range cidrs {
		quoted[i] = `"` + c + `"`
	}
	return strings.Join(quoted, ",")
}

func appendNew(list []string, items ...string) []string {
	for _, i := range items {
		if !slices.Contains(list, i) {
			list = append(list, i)
		}
	}
	return list
}

// writeNextSteps prints the runbook's commands with this stack's names filled in.
func writeNextSteps(w io.Writer, stack string, paths []string, files []*adopt.ImportFile, res *adopt.Result) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("\nWrote %s: %d resources to import, with the components above them.", paths[0], len(res.Adopted))
	if len(paths) > 1 {
		p("Wrote %s: %d more, whose parents the targeted \"pulumi up\" below creates first.", paths[1], len(res.Later))
	}
	p("Next (docs/migrating-from-terraform.md):")
	step := 0
	next := func(format string, args ...any) {
		step++
		p("  %d. "+format, append([]any{step}, args...)...)
	}
	providers := map[string]bool{}
	for _, f := range files {
		for _, urn := range f.NameTable {
			if strings.Contains(urn, "::pulumi:providers:") {
				providers[urn] = true
			}
		}
	}
	for _, urn := range sortedKeys(providers) {
		next("pulumi up --stack %s --target '%s' --yes   # the provider the import uses", stack, urn)
	}
	next("pulumi import --stack %s --file %s --generate-code=false --protect=false --yes", stack, paths[0])
	if len(paths) > 1 {
		var targets []string
		for _, r := range res.Prerequisites {
			targets = append(targets, "--target '"+r.URN+"'")
		}
		next("pulumi up --stack %s --yes %s", stack, strings.Join(targets, " "))
		next("pulumi import --stack %s --file %s --generate-code=false --protect=false --yes", stack, paths[1])
	}
	next("pulumi preview --stack %s --diff   # no replacement but those above", stack)
	next("pulumi up --stack %s", stack)
	removals := res.StateRemovals()
	next("terraform state rm \\")
	for i, a := range removals {
		end := " \\"
		if i == len(removals)-1 {
			end = ""
		}
		p("       '%s'%s", a, end)
	}
}
