package main

import (
	"coldchain/internal/offline"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// nameRule is what AWS accepts as the name of one resource type.
type nameRule struct {
	property string
	max      int
	pattern  *regexp.Regexp
	// extra returns why a name that fits the pattern is still refused, or "".
	extra func(name string) string
}

var (
	lowerHyphenID = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`) // letter first, no "--", no trailing "-"
	elbName       = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)
	iamName       = regexp.MustCompile(`^[\w+=,.@-]+$`)
	ecsName       = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	ecrName       = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	logGroupName  = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]+$`)
	snsName       = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	secretName    = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)
	dashboardName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	anyName       = regexp.MustCompile(`^[^\x00-\x1f]+$`)
	kmsAlias      = regexp.MustCompile(`^alias/[A-Za-z0-9/_-]+$`)
	pgSubnetGroup = regexp.MustCompile(`^[a-z0-9 ._-]+$`)
)

// nameRules are the limits AWS enforces on the names the program sends or autonaming
// produces (the logical name plus "-" and 7 hex digits), per resource type.
var nameRules = map[string][]nameRule{
	albType: {{"name", 32, elbName, func(n string) string {
		if strings.HasPrefix(n, "internal-") {
			return "starts with internal-"
		}
		return ""
	}}},
	tgType:                                  {{"name", 32, elbName, nil}},
	roleType:                                {{"name", 64, iamName, nil}},
	rolePolicy:                              {{"name", 128, iamName, nil}},
	sgType:                                  {{"name", 255, anyName, func(n string) string { return refuse(strings.HasPrefix(n, "sg-"), "starts with sg-") }}},
	dbType:                                  {{"identifier", 63, lowerHyphenID, nil}, {"finalSnapshotIdentifier", 255, lowerHyphenID, nil}},
	"aws:rds/parameterGroup:ParameterGroup": {{"name", 255, lowerHyphenID, nil}},
	"aws:rds/subnetGroup:SubnetGroup":       {{"name", 255, pgSubnetGroup, func(n string) string { return refuse(n == "default", "is default") }}},
	redisType:                               {{"replicationGroupId", 40, lowerHyphenID, nil}, {"finalSnapshotIdentifier", 255, lowerHyphenID, nil}},
	"aws:elasticache/subnetGroup:SubnetGroup": {{"name", 255, lowerHyphenID, nil}},
	bucketType:                           {{"bucket", 63, anyName, bucketNameProblem}},
	repoType:                             {{"name", 256, ecrName, func(n string) string { return refuse(len(n) < 2, "shorter than 2") }}},
	"aws:ecs/cluster:Cluster":            {{"name", 255, ecsName, nil}},
	serviceType:                          {{"name", 255, ecsName, nil}},
	taskDefType:                          {{"family", 255, ecsName, nil}},
	logGroupType:                         {{"name", 512, logGroupName, nil}},
	alarmType:                            {{"name", 255, anyName, nil}},
	"aws:cloudwatch/dashboard:Dashboard": {{"dashboardName", 255, dashboardName, nil}},
	"aws:sns/topic:Topic":                {{"name", 256, snsName, nil}},
	secretType:                           {{"name", 512, secretName, nil}},
	"aws:kms/alias:Alias": {{"name", 256, kmsAlias, func(n string) string {
		return refuse(strings.HasPrefix(n, "alias/aws/"), "uses the reserved alias/aws/ prefix")
	}}},
	scalingPolicyType:                    {{"name", 255, anyName, nil}},
	"aws:cloudwatch/eventRule:EventRule": {{"name", 64, regexp.MustCompile(`^[.\-_A-Za-z0-9]+$`), nil}},
	"aws:sfn/stateMachine:StateMachine":  {{"name", 80, regexp.MustCompile(`^[A-Za-z0-9_-]+$`), nil}},
	// WAFV2 API, CreateWebACL: Name, 1 to 128 of [\w-].
	"aws:wafv2/webAcl:WebAcl": {{"name", 128, regexp.MustCompile(`^[\w-]+$`), nil}},
}

func refuse(bad bool, why string) string {
	if bad {
		return why
	}
	return ""
}

// nameOf is the physical name AWS sees: the input, or what autonaming produced.
func nameOf(r *offline.PlanResource, property string) (string, bool) {
	if s, ok := r.Inputs[property].(string); ok {
		return s, true
	}
	s, ok := r.Outputs[property].(string)
	return s, ok
}

var constraintRules = []guardRule{
	{"AWS-01", "names", "Every physical name fits its type's AWS length and character rules, autonamed ones included.",
		checkNames},
	{"AWS-02", "Fargate", "Every task's CPU and memory are a pair Fargate accepts.",
		checkFargateSizes},
	{"AWS-03", "RDS", "The parameter group family matches the engine's major version.",
		checkParameterFamily},
	{"AWS-04", "RDS, ElastiCache", "Backup, snapshot and maintenance windows have AWS's format and do not overlap.",
		checkWindows},
	{"AWS-05", "ELB", "Listener rule priorities are unique per listener and within 1 to 50000; each rule has at most 5 path patterns.",
		checkRulePriorities},
	{"AWS-06", "JSON", "Every JSON document (policies, container definitions, lifecycle policies, the dashboard) is well formed.",
		checkJSONDocuments},
	{"AWS-07", "ARN formats", "Metric dimensions and resource labels have the formats CloudWatch and Application Auto Scaling expect.",
		checkMetricFormats},
	{"AWS-08", "ECR lifecycle", "The lifecycle rule selecting any tag has the highest priority number.",
		checkEcrLifecycle},
}

func TestAWSConstraintsHoldForEveryStackAndVariation(t *testing.T) {
	checkVariations(t, constraintRules)
}

func TestEveryResourceTypeHasItsNameRules(t *testing.T) {
	// A new resource type with a name must come with its AWS rules.
	for _, v := range variations[:1] {
		for _, r := range planOfVariation(t, v).Resources {
			_, autonamedType := offline.AutonamedProperty(r.Type)
			_, named := r.Inputs["name"]
			if (autonamedType || named) && r.Custom {
				if _, ok := nameRules[r.Type]; !ok {
					t.Errorf("%s has a physical name but no entry in nameRules", r.Type)
				}
			}
		}
	}
}

func TestNameRulesCatchBadNames(t *testing.T) {
	bad := clonePlan(t, planOfVariation(t, variations[0]))
	bad.One(t, albType, "alb").Outputs["name"] = strings.Repeat("a", 33)
	bad.One(t, dbType, "postgres").Inputs["identifier"] = "cold--chain"
	bad.One(t, repoType, "backend").Inputs["name"] = "Coldchain/Backend"
	if got := checkNames(bad); len(got) != 3 {
		t.Errorf("checkNames found %d problems in a plan with 3 bad names: %v", len(got), got)
	}
}

func checkNames(p *offline.Plan) []string {
	var v []string
	for _, r := range p.Resources {
		for _, rule := range nameRules[r.Type] {
			name, ok := nameOf(r, rule.property)
			if !ok {
				continue // optional and unset, such as a skipped final snapshot
			}
			switch {
			case len(name) > rule.max:
				v = append(v, fmt.Sprintf("%s %s: %s %q has %d characters, AWS allows %d", r.Type, r.Name, rule.property, name, len(name), rule.max))
			case !rule.pattern.MatchString(name):
				v = append(v, fmt.Sprintf("%s %s: %s %q has characters AWS refuses", r.Type, r.Name, rule.property, name))
			case rule.extra != nil && rule.extra(name) != "":
				v = append(v, fmt.Sprintf("%s %s: %s %q %s", r.Type, r.Name, rule.property, name, rule.extra(name)))
			}
		}
	}
	return v
}

func checkFargateSizes(p *offline.Plan) []string {
	var v []string
	for _, td := range p.All(taskDefType) {
		cpu, _ := strconv.Atoi(td.In("cpu"))
		memory, _ := strconv.Atoi(td.In("memory"))
		if !validFargatePair(cpu, memory) {
			v = append(v, fmt.Sprintf("%s: cpu %s memory %s", td.Name, td.In("cpu"), td.In("memory")))
		}
	}
	return v
}

func checkParameterFamily(p *offline.Plan) []string {
	var v []string
	groups := map[any]*offline.PlanResource{}
	for _, g := range p.All("aws:rds/parameterGroup:ParameterGroup") {
		groups[g.Outputs["name"]] = g
	}
	for _, db := range p.All(dbType) {
		g := groups[db.Inputs["parameterGroupName"]]
		major, _, _ := strings.Cut(db.In("engineVersion"), ".")
		if g == nil || g.In("family") != db.In("engine")+major {
			v = append(v, fmt.Sprintf("%s: engine %s %s with parameter group %v", db.Name, db.In("engine"), db.In("engineVersion"), db.Inputs["parameterGroupName"]))
		}
	}
	return v
}

func checkWindows(p *offline.Plan) []string {
	var all problems
	for _, db := range p.All(dbType) {
		all.checkWindows("backupWindow", db.In("backupWindow"), "maintenanceWindow", db.In("maintenanceWindow"), 30)
	}
	for _, r := range p.All(redisType) {
		all.checkWindows("snapshotWindow", r.In("snapshotWindow"), "maintenanceWindow", r.In("maintenanceWindow"), 60)
	}
	var v []string
	for _, problem := range all {
		v = append(v, problem.String())
	}
	return v
}

func checkRulePriorities(p *offline.Plan) []string {
	var v []string
	seen := map[string]bool{}
	for _, r := range p.All(ruleType) {
		priority := r.Num("priority")
		key := fmt.Sprintf("%s/%v", r.In("listenerArn"), priority)
		if priority < 1 || priority > 50000 || seen[key] {
			v = append(v, fmt.Sprintf("%s: priority %v taken or out of range", r.Name, priority))
		}
		seen[key] = true
		for _, c := range r.List("conditions") {
			if pp, ok := c.(map[string]any)["pathPattern"].(map[string]any); ok && len(pp["values"].([]any)) > 5 {
				v = append(v, r.Name+": more than 5 path patterns")
			}
		}
	}
	return v
}

func checkJSONDocuments(p *offline.Plan) []string {
	var v []string
	for _, r := range p.Resources {
		for _, key := range []string{"policy", "assumeRolePolicy", "containerDefinitions", "dashboardBody"} {
			if s, ok := r.Inputs[key].(string); ok && !json.Valid([]byte(s)) {
				v = append(v, fmt.Sprintf("%s %s: %s is not valid JSON", r.Type, r.Name, key))
			}
		}
	}
	return v
}

var (
	albSuffix = regexp.MustCompile(`^app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`)
	tgSuffix  = regexp.MustCompile(`^targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`)
)

func checkMetricFormats(p *offline.Plan) []string {
	var v []string
	for _, a := range p.All(alarmType) {
		dims := a.Obj("dimensions")
		if lb, ok := dims["LoadBalancer"].(string); ok && !albSuffix.MatchString(lb) {
			v = append(v, a.Name+": LoadBalancer dimension "+lb+" is not an ARN suffix")
		}
		if tg, ok := dims["TargetGroup"].(string); ok && !tgSuffix.MatchString(tg) {
			v = append(v, a.Name+": TargetGroup dimension "+tg+" is not an ARN suffix")
		}
		if id, ok := dims["DBInstanceIdentifier"].(string); ok && strings.HasPrefix(id, "db-") && strings.ToUpper(id) == id {
			v = append(v, a.Name+": DBInstanceIdentifier is the resource id, not the identifier")
		}
	}
	for _, target := range p.All(scalableTargetType) {
		if !regexp.MustCompile(`^service/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+$`).MatchString(target.In("resourceId")) {
			v = append(v, target.Name+": resource id "+target.In("resourceId"))
		}
	}
	for _, policy := range p.All(scalingPolicyType) {
		conf := policy.Obj("targetTrackingScalingPolicyConfiguration")
		spec, _ := conf["predefinedMetricSpecification"].(map[string]any)
		if spec["predefinedMetricType"] == "ALBRequestCountPerTarget" {
			label, _ := spec["resourceLabel"].(string)
			alb, tg, _ := strings.Cut(label, "/targetgroup/")
			if !albSuffix.MatchString(alb) || !tgSuffix.MatchString("targetgroup/"+tg) {
				v = append(v, policy.Name+": resource label "+label)
			}
		}
	}
	return v
}

func checkEcrLifecycle(p *offline.Plan) []string {
	var v []string
	for _, r := range p.All("aws:ecr/lifecyclePolicy:LifecyclePolicy") {
		var doc struct {
			Rules []struct {
				RulePriority int
				Selection    struct{ TagStatus string }
			}
		}
		if json.Unmarshal([]byte(r.In("policy")), &doc) != nil {
			v = append(v, r.Name+": lifecycle policy is not JSON")
			continue
		}
		top := 0
		for _, rule := range doc.Rules {
			top = max(top, rule.RulePriority)
		}
		for _, rule := range doc.Rules {
			if rule.Selection.TagStatus == "any" && rule.RulePriority != top {
				v = append(v, r.Name+": the 'any' rule is not the last")
			}
		}
	}
	return v
}
