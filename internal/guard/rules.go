// Package guard holds the stack's guarantees as rules over a whole plan (package plan): each
// rule has an id, the Security Hub control (or reason) it implements, the guarantee as README
// states it, and a check that returns the violations it finds. The unit tests run the rules
// over the offline plan of every stack file and variation; the policy pack (pack.go, folder
// policypack) runs the same rules over what a real "pulumi preview" shows.
package guard

import (
	"coldchain/internal/plan"
	"strings"
)

// Rule is one guarantee over a whole plan.
type Rule struct {
	ID      string
	Control string // the Security Hub control, or the reason
	Text    string // the guarantee, as README states it
	Check   func(p *plan.Plan) []string
}

// OfflineOnly are the rules the policy pack cannot run, and why: they read what a stack policy
// is not shown.
var OfflineOnly = map[string]string{
	"DATA-04": "it reads retainOnDelete, which Pulumi does not pass to policy packs",
}

// Rules returns every rule, in the order docs/guarantees.md lists them. The application's rules
// hold the application's plans, the Account rules the account stack's: each passes a plan of
// the other project, so one policy pack serves both.
func Rules() []Rule {
	var all []Rule
	for _, set := range [][]Rule{Security, Constraints, DataProtection, Network} {
		for _, r := range set {
			all = append(all, forProject(r, false))
		}
	}
	for _, r := range Account {
		all = append(all, forProject(r, true))
	}
	return all
}

// forProject runs a rule on the plans of the account stack's project only, or on the others'.
func forProject(r Rule, account bool) Rule {
	check := r.Check
	r.Check = func(p *plan.Plan) []string {
		if (p.Project == AccountProject) != account {
			return nil
		}
		return check(p)
	}
	return r
}

// Find returns the rule with an id; it panics on an id no rule has, which is a programming
// error.
func Find(id string) Rule {
	for _, r := range Rules() {
		if r.ID == id {
			return r
		}
	}
	panic("guard: no rule " + id)
}

// The resource types the rules read, by their token.
const (
	AlarmType          = "aws:cloudwatch/metricAlarm:MetricAlarm"
	ScalableTargetType = "aws:appautoscaling/target:Target"
	ScalingPolicyType  = "aws:appautoscaling/policy:Policy"
	DbType             = "aws:rds/instance:Instance"
	RedisType          = "aws:elasticache/replicationGroup:ReplicationGroup"
	LogGroupType       = "aws:cloudwatch/logGroup:LogGroup"
	SecretType         = "aws:secretsmanager/secret:Secret"
	KmsKeyType         = "aws:kms/key:Key"
	RandomPassType     = "random:index/randomPassword:RandomPassword"
	AlbType            = "aws:lb/loadBalancer:LoadBalancer"
	TgType             = "aws:lb/targetGroup:TargetGroup"
	ListenerType       = "aws:lb/listener:Listener"
	RuleType           = "aws:lb/listenerRule:ListenerRule"
	ServiceType        = "aws:ecs/service:Service"
	TaskDefType        = "aws:ecs/taskDefinition:TaskDefinition"
	RoleType           = "aws:iam/role:Role"
	RolePolicy         = "aws:iam/rolePolicy:RolePolicy"
	RecordType         = "aws:route53/record:Record"
	CertType           = "aws:acm/certificate:Certificate"
	CertValidType      = "aws:acm/certificateValidation:CertificateValidation"
	SgType             = "aws:ec2/securityGroup:SecurityGroup"
	IngressType        = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	EgressType         = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	SubnetType         = "aws:ec2/subnet:Subnet"
	RouteType          = "aws:ec2/route:Route"
	NatType            = "aws:ec2/natGateway:NatGateway"
	BucketType         = "aws:s3/bucketV2:BucketV2"
	RepoType           = "aws:ecr/repository:Repository"
	BackupsCopyType    = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
	WebACLType         = "aws:wafv2/webAcl:WebAcl"
	AclAssocType       = "aws:wafv2/webAclAssociation:WebAclAssociation"
	AclLoggingType     = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
)

// PolicyDocument is an IAM-language document as AWS reads it; Action, Resource and Principal
// may be a string or a list, so they stay untyped (see Strs).
type PolicyDocument struct {
	Version   string
	Statement []Statement
}

// Statement is one statement of a PolicyDocument.
type Statement struct {
	Sid       string
	Effect    string
	Principal any
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

// Strs turns a policy's string-or-list field into a list.
func Strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// known is false for a value a preview does not know yet, whose format or content a rule
// cannot check.
func known(v any) bool { return !plan.IsUnknown(v) }

// opaque is true for an unknown value whose source is unknown too (several resources, or the
// stack's outputs): it can be compared with nothing. An unknown value with a source is a
// reference to that resource's output, equal to the output's own unknown value.
func opaque(v any) bool { return v == plan.UnknownPrefix }

// hasUnknown is true for a value that is, or holds, an unknown value.
func hasUnknown(v any) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if hasUnknown(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasUnknown(e) {
				return true
			}
		}
	}
	return plan.IsUnknown(v)
}

// unresolved is true for an unknown reference a rule cannot judge as one to a resource of
// type typ: its source is unknown, or a resource of another type, through which the value
// may come from one (a bucket's name that waits for its policy comes "from" the policy).
func unresolved(p *plan.Plan, ref any, typ string) bool {
	s, ok := ref.(string)
	if !ok || !plan.IsUnknown(s) {
		return false
	}
	source := p.ByURN(strings.TrimPrefix(s, plan.UnknownPrefix))
	return source == nil || source.Type != typ
}

// differs is true for two values that are known to differ: an opaque value could be either.
func differs(a, b any) bool { return a != b && !opaque(a) && !opaque(b) }

// refs maps every value by which a resource of rs is referred to (its id and the outputs
// named) to the resource.
func refs(rs []*plan.PlanResource, outputs ...string) map[any]*plan.PlanResource {
	m := map[any]*plan.PlanResource{}
	for _, r := range rs {
		m[r.ID] = r
		for _, key := range outputs {
			if v, ok := r.Outputs[key]; ok {
				m[v] = r
			}
		}
	}
	return m
}

// The shapes of plain JSON values, read without a type assertion that could panic on a value
// of another shape (an unknown one, in a preview).

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func list(v any) []any { l, _ := v.([]any); return l }

func str(v any) string { s, _ := v.(string); return s }

// first is the first element of a list of objects, or nil.
func first(l []any) map[string]any {
	if len(l) == 0 {
		return nil
	}
	return obj(l[0])
}
