package guard

import (
	"coldchain/internal/limits"
	"coldchain/internal/plan"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
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
	AlbType: {{"name", 32, elbName, func(n string) string {
		if strings.HasPrefix(n, "internal-") {
			return "starts with internal-"
		}
		return ""
	}}},
	TgType:                                  {{"name", 32, elbName, nil}},
	RoleType:                                {{"name", 64, iamName, nil}},
	RolePolicy:                              {{"name", 128, iamName, nil}},
	SgType:                                  {{"name", 255, anyName, func(n string) string { return refuse(strings.HasPrefix(n, "sg-"), "starts with sg-") }}},
	DbType:                                  {{"identifier", 63, lowerHyphenID, nil}, {"finalSnapshotIdentifier", 255, lowerHyphenID, nil}},
	"aws:rds/parameterGroup:ParameterGroup": {{"name", 255, lowerHyphenID, nil}},
	"aws:rds/subnetGroup:SubnetGroup":       {{"name", 255, pgSubnetGroup, func(n string) string { return refuse(n == "default", "is default") }}},
	RedisType:                               {{"replicationGroupId", 40, lowerHyphenID, nil}, {"finalSnapshotIdentifier", 255, lowerHyphenID, nil}},
	"aws:elasticache/subnetGroup:SubnetGroup": {{"name", 255, lowerHyphenID, nil}},
	BucketType:                           {{"bucket", 63, anyName, limits.BucketNameProblem}},
	RepoType:                             {{"name", 256, ecrName, func(n string) string { return refuse(len(n) < 2, "shorter than 2") }}},
	"aws:ecs/cluster:Cluster":            {{"name", 255, ecsName, nil}},
	ServiceType:                          {{"name", 255, ecsName, nil}},
	TaskDefType:                          {{"family", 255, ecsName, nil}},
	LogGroupType:                         {{"name", 512, logGroupName, nil}},
	AlarmType:                            {{"name", 255, anyName, nil}},
	"aws:cloudwatch/dashboard:Dashboard": {{"dashboardName", 255, dashboardName, nil}},
	"aws:sns/topic:Topic":                {{"name", 256, snsName, nil}},
	SecretType:                           {{"name", 512, secretName, nil}},
	"aws:kms/alias:Alias": {{"name", 256, kmsAlias, func(n string) string {
		return refuse(strings.HasPrefix(n, "alias/aws/"), "uses the reserved alias/aws/ prefix")
	}}},
	ScalingPolicyType:                    {{"name", 255, anyName, nil}},
	"aws:cloudwatch/eventRule:EventRule": {{"name", 64, regexp.MustCompile(`^[.\-_A-Za-z0-9]+$`), nil}},
	"aws:sfn/stateMachine:StateMachine":  {{"name", 80, regexp.MustCompile(`^[A-Za-z0-9_-]+$`), nil}},
	// WAFV2 API, CreateWebACL: Name, 1 to 128 of [\w-].
	"aws:wafv2/webAcl:WebAcl": {{"name", 128, regexp.MustCompile(`^[\w-]+$`), nil}},
}

// HasNameRules is true for a resource type whose names AWS-01 checks.
func HasNameRules(typ string) bool {
	_, ok := nameRules[typ]
	return ok
}

func refuse(bad bool, why string) string {
	if bad {
		return why
	}
	return ""
}

// nameOf is the physical name AWS sees: the input, or what autonaming produced.
func nameOf(r *plan.PlanResource, property string) (string, bool) {
	if s, ok := r.Inputs[property].(string); ok {
		return s, true
	}
	s, ok := r.Outputs[property].(string)
	return s, ok
}

// Constraints are the AWS rules: what AWS accepts, which the provider checks only when it
// deploys and mocks never do.
var Constraints = []Rule{
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

func checkNames(p *plan.Plan) []string {
	var v []string
	for _, r := range p.Resources {
		for _, rule := range nameRules[r.Type] {
			name, ok := nameOf(r, rule.property)
			if !ok || !known(name) {
				continue // optional and unset, such as a skipped final snapshot, or unknown
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

func checkFargateSizes(p *plan.Plan) []string {
	var v []string
	for _, td := range p.All(TaskDefType) {
		cpu, _ := strconv.Atoi(td.In("cpu"))
		memory, _ := strconv.Atoi(td.In("memory"))
		if !limits.ValidFargatePair(cpu, memory) {
			v = append(v, fmt.Sprintf("%s: cpu %s memory %s", td.Name, td.In("cpu"), td.In("memory")))
		}
	}
	return v
}

func checkParameterFamily(p *plan.Plan) []string {
	var v []string
	groups := refs(p.All("aws:rds/parameterGroup:ParameterGroup"), "name")
	for _, db := range p.All(DbType) {
		if opaque(db.Inputs["parameterGroupName"]) {
			continue
		}
		g := groups[db.Inputs["parameterGroupName"]]
		major, _, _ := strings.Cut(db.In("engineVersion"), ".")
		if g == nil || g.In("family") != db.In("engine")+major {
			v = append(v, fmt.Sprintf("%s: engine %s %s with parameter group %v", db.Name, db.In("engine"), db.In("engineVersion"), db.Inputs["parameterGroupName"]))
		}
	}
	return v
}

func checkWindows(p *plan.Plan) []string {
	var v []string
	report := func(r *plan.PlanResource, problems []limits.WindowProblem) {
		for _, w := range problems {
			v = append(v, fmt.Sprintf("%s %s: %s %q: expected %s", r.Type, r.Name, w.Key, w.Value, w.Allowed))
		}
	}
	for _, db := range p.All(DbType) {
		if known(db.Inputs["backupWindow"]) && known(db.Inputs["maintenanceWindow"]) {
			report(db, limits.CheckWindows("backupWindow", db.In("backupWindow"), "maintenanceWindow", db.In("maintenanceWindow"), 30))
		}
	}
	for _, r := range p.All(RedisType) {
		if known(r.Inputs["snapshotWindow"]) && known(r.Inputs["maintenanceWindow"]) {
			report(r, limits.CheckWindows("snapshotWindow", r.In("snapshotWindow"), "maintenanceWindow", r.In("maintenanceWindow"), 60))
		}
	}
	return v
}

func checkRulePriorities(p *plan.Plan) []string {
	var v []string
	seen := map[string]bool{}
	for _, r := range p.All(RuleType) {
		priority := r.Num("priority")
		key := fmt.Sprintf("%s/%v", r.In("listenerArn"), priority)
		if priority < 1 || priority > 50000 || seen[key] {
			v = append(v, fmt.Sprintf("%s: priority %v taken or out of range", r.Name, priority))
		}
		seen[key] = true
		for _, c := range r.List("conditions") {
			if pp, ok := obj(c)["pathPattern"].(map[string]any); ok && len(list(pp["values"])) > 5 {
				v = append(v, r.Name+": more than 5 path patterns")
			}
		}
	}
	return v
}

func checkJSONDocuments(p *plan.Plan) []string {
	var v []string
	for _, r := range p.Resources {
		for _, key := range []string{"policy", "assumeRolePolicy", "containerDefinitions", "dashboardBody"} {
			if s, ok := r.Inputs[key].(string); ok && known(s) && s != plan.SecretPlaceholder && !json.Valid([]byte(s)) {
				v = append(v, fmt.Sprintf("%s %s: %s is not valid JSON", r.Type, r.Name, key))
			}
		}
	}
	return v
}

var (
	albSuffix = regexp.MustCompile(`^app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`)
	tgSuffix  = regexp.MustCompile(`^targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`)
	// scalableService is Application Auto Scaling's resource id of an ECS service.
	scalableService = regexp.MustCompile(`^service/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+$`)
)

func checkMetricFormats(p *plan.Plan) []string {
	var v []string
	for _, a := range p.All(AlarmType) {
		dims := a.Obj("dimensions")
		if lb, ok := dims["LoadBalancer"].(string); ok && known(lb) && !albSuffix.MatchString(lb) {
			v = append(v, a.Name+": LoadBalancer dimension "+lb+" is not an ARN suffix")
		}
		if tg, ok := dims["TargetGroup"].(string); ok && known(tg) && !tgSuffix.MatchString(tg) {
			v = append(v, a.Name+": TargetGroup dimension "+tg+" is not an ARN suffix")
		}
		if id, ok := dims["DBInstanceIdentifier"].(string); ok && strings.HasPrefix(id, "db-") && strings.ToUpper(id) == id {
			v = append(v, a.Name+": DBInstanceIdentifier is the resource id, not the identifier")
		}
	}
	for _, target := range p.All(ScalableTargetType) {
		if known(target.Inputs["resourceId"]) && !scalableService.MatchString(target.In("resourceId")) {
			v = append(v, target.Name+": resource id "+target.In("resourceId"))
		}
	}
	for _, policy := range p.All(ScalingPolicyType) {
		conf := policy.Obj("targetTrackingScalingPolicyConfiguration")
		spec, _ := conf["predefinedMetricSpecification"].(map[string]any)
		if spec["predefinedMetricType"] == "ALBRequestCountPerTarget" && known(spec["resourceLabel"]) {
			label, _ := spec["resourceLabel"].(string)
			alb, tg, _ := strings.Cut(label, "/targetgroup/")
			if !albSuffix.MatchString(alb) || !tgSuffix.MatchString("targetgroup/"+tg) {
				v = append(v, policy.Name+": resource label "+label)
			}
		}
	}
	return v
}

func checkEcrLifecycle(p *plan.Plan) []string {
	var v []string
	for _, r := range p.All("aws:ecr/lifecyclePolicy:LifecyclePolicy") {
		if !known(r.Inputs["policy"]) {
			continue
		}
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
