package main

import (
	"coldchain/internal/offline"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The guard suite checks the whole planned stack at once, for every stack file shipped and for
// variations of config, so that a change anywhere cannot quietly break a guarantee. The policy
// is data: each rule has an id, the Security Hub control (or reason) it implements, and a check
// that returns the violations it finds. README's "Guarantees" section lists the rules by id.

// variation is one configuration the guard suite plans: a stack file, released unless it is
// planned as shipped, with overrides.
type variation struct {
	name    string
	stack   string
	sets    []string
	shipped bool
}

const ownCertificate = "certificateArn=arn:aws:acm:ap-northeast-2:123456789012:certificate/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"

var variations = []variation{
	{"production", "production", nil, false},
	{"staging", "staging", nil, false},
	{"production with a domain", "production", []string{"domainName=dispatch.example.com"}, false},
	{"production with its own certificate", "production", []string{ownCertificate}, false},
	{"staging with a domain on ARM64", "staging", []string{"domainName=staging.example.com", "cpuArchitecture=ARM64"}, false},
	// The longest names leave no room for a DR replica's region suffix (badinput_test.go).
	{"long names", "production", []string{"projectName=abcdefghijklmnopqrst", "environment=production-eu", "drRegion="}, false},
	{"long names with DR", "production", []string{"projectName=abcdefghijkl", "environment=production-eu"}, false},
	{"another region", "production", []string{"aws:region=eu-central-1"}, false},
	{"a new region", "production", []string{"aws:region=ap-southeast-7"}, false},
	{"a /18 VPC", "production", []string{"vpcCidr=10.20.64.0/18"}, false},
	{"a /20 VPC with one NAT gateway", "production", []string{"vpcCidr=172.16.0.0/20", "natGateways=Single"}, false},
	{"production before its first release", "production", nil, true},
	{"staging before its first release", "staging", nil, true},
}

var (
	variationPlans   = map[string]*offline.Plan{}
	variationPlansMu sync.Mutex
)

// planOfVariation plans a variation once per test binary.
func planOfVariation(t *testing.T, v variation) *offline.Plan {
	t.Helper()
	variationPlansMu.Lock()
	defer variationPlansMu.Unlock()
	if p, ok := variationPlans[v.name]; ok {
		return p
	}
	var p *offline.Plan
	if v.shipped {
		p = planOfShippedFile(t, v.stack, v.sets...)
	} else {
		p = planOfFile(t, v.stack, v.sets...)
	}
	variationPlans[v.name] = p
	return p
}

// guardRule is one guarantee over a whole plan.
type guardRule struct {
	id      string
	control string // the Security Hub control, or the reason
	rule    string // the guarantee, as README states it
	check   func(p *offline.Plan) []string
}

var securityPolicy = []guardRule{
	{"SEC-01", "RDS.3, ElastiCache.4, S3.17, SNS.1, ECR.3, SecretsManager",
		"Every store of data is encrypted at rest: the database, the cache, every bucket, the alarm topic, every secret and repository; with a customer-managed key wherever the service allows.",
		checkEncryptionAtRest},
	{"SEC-02", "RDS (rds.force_ssl), ElastiCache.5, ELB.1, S3.5",
		"Data moves over TLS: the database forces it, the cache requires it, HTTPS listeners accept TLS 1.2 and 1.3 only and HTTP redirects to them, every bucket denies plain HTTP.",
		checkTLS},
	{"SEC-03", "EC2.19, EC2.53, ECS.2, RDS.2",
		"Nothing is reachable from the internet but the load balancer on 80 and 443: no other ingress from 0.0.0.0/0 or ::/0, no public IP on tasks, no public database or cache.",
		checkInternetExposure},
	{"SEC-04", "IAM.1, IAM.21, confused deputy",
		"IAM least privilege: no wildcard action, no '*' resource where the API takes a narrower one, every trust policy scoped to this account, every resource policy's principals this account or its services.",
		checkLeastPrivilege},
	{"SEC-05", "ECS.8, secrets hygiene",
		"Secrets only through secret stores: no password in config or state, generated secrets marked secret, containers get them from 'secrets' and never 'environment', no secret in the stack outputs.",
		checkSecrets},
	{"SEC-06", "CloudWatch retention",
		"Every log group has a retention period.",
		checkLogRetention},
	{"SEC-07", "CloudWatch.15",
		"Every alarm has alarm and OK actions to the alarm topic.",
		checkAlarmActions},
	{"SEC-08", "tagging",
		"Every AWS resource is created through an explicit provider (the stack's region's or the DR region's) whose default tags are Project, Environment and ManagedBy.",
		checkDefaultTags},
	{"SEC-09", "ECR.1",
		"Every repository scans images on push.",
		checkImageScanning},
	{"SEC-10", "ECS.4, ECS.5",
		"No container runs privileged, every container's root filesystem is read-only (writable paths are volumes), and every task runs in awsvpc mode on Fargate.",
		checkContainers},
	{"SEC-11", "EC2.6, EC2.2",
		"VPC flow logs record all traffic and the default security group allows nothing.",
		checkVpcHygiene},
	{"SEC-12", "ELB.4, ELB.5, KMS.4",
		"The load balancer drops invalid headers and writes access logs; every customer-managed key rotates.",
		checkLoadBalancerAndKeys},
	{"SEC-13", "ELB.16, WAF.11, WAF.12",
		"With waf (production), every load balancer is behind a web ACL, which logs to an aws-waf-logs- log group with retention and publishes metrics for itself and every rule.",
		checkFirewall},
}

func TestSecurityPolicyHoldsForEveryStackAndVariation(t *testing.T) {
	checkVariations(t, securityPolicy)
}

// checkVariations runs every rule over the plan of every variation.
func checkVariations(t *testing.T, rules []guardRule) {
	for _, v := range variations {
		p := planOfVariation(t, v)
		for _, rule := range rules {
			t.Run(v.name+"/"+rule.id, func(t *testing.T) {
				for _, violation := range rule.check(p) {
					t.Errorf("%s (%s) violated in %s: %s", rule.id, rule.control, v.name, violation)
				}
			})
		}
	}
}

func TestGuardRulesCatchViolations(t *testing.T) {
	// Each rule is fed a plan broken in the way it guards against, so none can silently pass.
	base := planOfVariation(t, variations[0])
	for _, tc := range []struct {
		rule   string
		break_ func(p *offline.Plan)
	}{
		{"SEC-01", func(p *offline.Plan) { p.One(t, dbType, "postgres").Inputs["storageEncrypted"] = false }},
		{"SEC-02", func(p *offline.Plan) { p.One(t, redisType, "redis").Inputs["transitEncryptionEnabled"] = false }},
		{"SEC-03", func(p *offline.Plan) { p.One(t, ingressType, "database-from-backend").Inputs["cidrIpv4"] = "0.0.0.0/0" }},
		{"SEC-04", func(p *offline.Plan) {
			p.One(t, rolePolicy, "backend-task").Inputs["policy"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
		}},
		{"SEC-05", func(p *offline.Plan) {
			r := p.One(t, taskDefType, "backend")
			r.Inputs["containerDefinitions"] = strings.Replace(r.In("containerDefinitions"), `"environment":[`, `"environment":[{"name":"DB_PASSWORD","value":"hunter2"},`, 1)
		}},
		{"SEC-06", func(p *offline.Plan) { delete(p.One(t, logGroupType, "backend").Inputs, "retentionInDays") }},
		{"SEC-07", func(p *offline.Plan) { p.One(t, alarmType, "db-cpu").Inputs["okActions"] = []any{} }},
		{"SEC-08", func(p *offline.Plan) { p.One(t, bucketType, "logs").Provider = "" }},
		{"SEC-09", func(p *offline.Plan) {
			p.One(t, repoType, "backend").Inputs["imageScanningConfiguration"] = map[string]any{"scanOnPush": false}
		}},
		{"SEC-10", func(p *offline.Plan) {
			r := p.One(t, taskDefType, "frontend")
			r.Inputs["containerDefinitions"] = strings.Replace(r.In("containerDefinitions"), `"privileged":false`, `"privileged":true`, 1)
		}},
		{"SEC-10", func(p *offline.Plan) {
			r := p.One(t, taskDefType, "backend")
			r.Inputs["containerDefinitions"] = strings.Replace(r.In("containerDefinitions"), `"readonlyRootFilesystem":true`, `"readonlyRootFilesystem":false`, 1)
		}},
		{"SEC-11", func(p *offline.Plan) {
			p.One(t, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg").Inputs["ingress"] = []any{map[string]any{"fromPort": 0.0}}
		}},
		{"SEC-12", func(p *offline.Plan) { p.One(t, kmsKeyType, "data").Inputs["enableKeyRotation"] = false }},
		{"SEC-13", func(p *offline.Plan) { p.Resources = without(p.Resources, aclAssocType, "waf") }},
		{"SEC-13", func(p *offline.Plan) { p.Resources = without(p.Resources, aclLoggingType, "waf") }},
		{"SEC-13", func(p *offline.Plan) {
			rule := p.One(t, webACLType, "waf").List("rules")[2].(map[string]any)
			rule["visibilityConfig"].(map[string]any)["cloudwatchMetricsEnabled"] = false
		}},
	} {
		broken := clonePlan(t, base)
		tc.break_(broken)
		for _, rule := range securityPolicy {
			if rule.id == tc.rule {
				assert.NotEmptyf(t, rule.check(broken), "%s does not notice its violation", rule.id)
				assert.Emptyf(t, rule.check(base), "%s flags the unbroken plan", rule.id)
			}
		}
	}
}

// clonePlan deep-copies a plan through JSON, so a test can break the copy.
func clonePlan(t *testing.T, p *offline.Plan) *offline.Plan {
	t.Helper()
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var out offline.Plan
	require.NoError(t, json.Unmarshal(b, &out))
	return &out
}

func TestReadmeGuaranteesListEveryRule(t *testing.T) {
	section := readmeSection(t, "## Guarantees")
	for _, rules := range [][]guardRule{securityPolicy, constraintRules, dataProtectionRules, networkRules} {
		for _, r := range rules {
			assert.Containsf(t, section, "**"+r.id+"**", "README's Guarantees do not list %s", r.id)
		}
	}
}

// --- the checks ---

func checkEncryptionAtRest(p *offline.Plan) []string {
	var v []string
	keyArns := map[any]bool{}
	for _, k := range p.All(kmsKeyType) {
		keyArns[k.Outputs["arn"]] = true
	}
	for _, r := range p.All(dbType) {
		if !r.Flag("storageEncrypted") || !keyArns[r.Inputs["kmsKeyId"]] {
			v = append(v, r.Name+": database storage not encrypted with a customer-managed key")
		}
	}
	for _, r := range p.All(redisType) {
		if !r.Flag("atRestEncryptionEnabled") || !keyArns[r.Inputs["kmsKeyId"]] {
			v = append(v, r.Name+": cache not encrypted at rest with a customer-managed key")
		}
	}
	encrypted := map[string]string{}
	for _, r := range p.All("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2") {
		for _, rule := range r.List("rules") {
			def, _ := rule.(map[string]any)["applyServerSideEncryptionByDefault"].(map[string]any)
			alg, _ := def["sseAlgorithm"].(string)
			if alg == "aws:kms" && !keyArns[def["kmsMasterKeyId"]] {
				alg = "aws:kms with an unknown key"
			}
			encrypted[r.In("bucket")] = alg
		}
	}
	for _, b := range p.All(bucketType) {
		switch alg := encrypted[b.In("bucket")]; {
		case alg == "":
			v = append(v, b.Name+": bucket has no default encryption")
		case b.Name != "logs" && alg != "aws:kms":
			// Only the logs bucket may use SSE-S3: ALB access logs cannot be written with KMS.
			v = append(v, b.Name+": data bucket not encrypted with the customer-managed key ("+alg+")")
		}
	}
	for _, r := range p.All("aws:sns/topic:Topic") {
		if !keyArns[r.Inputs["kmsMasterKeyId"]] {
			v = append(v, r.Name+": topic not encrypted with a customer-managed key")
		}
	}
	for _, r := range p.All(secretType) {
		if !keyArns[r.Inputs["kmsKeyId"]] {
			v = append(v, r.Name+": secret not encrypted with a customer-managed key")
		}
	}
	for _, r := range p.All(dbType) {
		if r.Flag("manageMasterUserPassword") && !keyArns[r.Inputs["masterUserSecretKmsKeyId"]] {
			v = append(v, r.Name+": the RDS-managed secret is not encrypted with a customer-managed key")
		}
	}
	for _, r := range p.All(repoType) {
		enc, _ := r.List("encryptionConfigurations")[0].(map[string]any)
		if enc["encryptionType"] != "KMS" || !keyArns[enc["kmsKey"]] {
			v = append(v, r.Name+": repository not encrypted with a customer-managed key")
		}
	}
	return v
}

func checkTLS(p *offline.Plan) []string {
	var v []string
	for _, r := range p.All("aws:rds/parameterGroup:ParameterGroup") {
		forced := false
		for _, param := range r.List("parameters") {
			m := param.(map[string]any)
			forced = forced || m["name"] == "rds.force_ssl" && m["value"] == "1"
		}
		if !forced {
			v = append(v, r.Name+": parameter group does not force TLS")
		}
	}
	for _, r := range p.All(redisType) {
		if !r.Flag("transitEncryptionEnabled") {
			v = append(v, r.Name+": cache accepts plain connections")
		}
	}
	https := false
	for _, l := range p.All(listenerType) {
		switch l.In("protocol") {
		case "HTTPS":
			https = true
			if l.In("sslPolicy") != tlsPolicy {
				v = append(v, l.Name+": HTTPS listener policy "+l.In("sslPolicy"))
			}
		case "HTTP":
			continue
		default:
			v = append(v, l.Name+": listener protocol "+l.In("protocol"))
		}
	}
	if https {
		for _, l := range p.All(listenerType) {
			if l.In("protocol") == "HTTP" {
				action := l.List("defaultActions")[0].(map[string]any)
				redirect, _ := action["redirect"].(map[string]any)
				if action["type"] != "redirect" || redirect["protocol"] != "HTTPS" {
					v = append(v, l.Name+": HTTP is served next to HTTPS instead of redirected")
				}
			}
		}
	}
	for _, r := range p.All("aws:s3/bucketPolicy:BucketPolicy") {
		var doc parsedPolicy
		if json.Unmarshal([]byte(r.In("policy")), &doc) != nil {
			v = append(v, r.Name+": bucket policy is not JSON")
			continue
		}
		denies := false
		for _, s := range doc.Statement {
			denies = denies || s.Effect == "Deny" && s.Condition["Bool"]["aws:SecureTransport"] == "false"
		}
		if !denies {
			v = append(v, r.Name+": bucket policy does not deny plain HTTP")
		}
	}
	return v
}

func checkInternetExposure(p *offline.Plan) []string {
	var v []string
	alb := ""
	for _, sg := range p.All(sgType) {
		if sg.Name == "alb-sg" {
			alb = sg.ID
		}
	}
	for _, r := range p.All(ingressType) {
		open := r.In("cidrIpv4") == "0.0.0.0/0" || r.In("cidrIpv6") == "::/0"
		if r.In("cidrIpv4") != "" && r.In("cidrIpv4") != "0.0.0.0/0" {
			v = append(v, r.Name+": ingress from a CIDR "+r.In("cidrIpv4"))
		}
		if open && (r.In("securityGroupId") != alb || (r.Num("fromPort") != 80 && r.Num("fromPort") != 443) || r.Num("fromPort") != r.Num("toPort")) {
			v = append(v, fmt.Sprintf("%s: port %v open to the internet", r.Name, r.Inputs["fromPort"]))
		}
	}
	for _, s := range p.All(serviceType) {
		if network := s.Obj("networkConfiguration"); network["assignPublicIp"] != false {
			v = append(v, s.Name+": tasks get a public IP")
		}
	}
	for _, r := range p.All(dbType) {
		if r.Flag("publiclyAccessible") {
			v = append(v, r.Name+": database publicly accessible")
		}
	}
	for _, r := range p.All(albType) {
		if r.Flag("internal") {
			continue
		}
		for _, sg := range r.List("securityGroups") {
			if sg != alb {
				v = append(v, r.Name+": internet-facing load balancer outside the ALB security group")
			}
		}
	}
	// The stores sit in the isolated subnets, which have no route to the internet.
	isolated := fmt.Sprint(p.Outputs["isolatedSubnetIds"])
	for _, r := range append(p.All("aws:rds/subnetGroup:SubnetGroup"), p.All("aws:elasticache/subnetGroup:SubnetGroup")...) {
		if fmt.Sprint(r.List("subnetIds")) != isolated {
			v = append(v, r.Name+": subnet group outside the isolated subnets")
		}
	}
	return v
}

// policyDocuments returns every IAM-language document of the plan by "<type> <name>".
func policyDocuments(p *offline.Plan) map[string]parsedPolicy {
	docs := map[string]parsedPolicy{}
	for _, r := range p.Resources {
		for _, key := range []string{"policy", "assumeRolePolicy"} {
			s, ok := r.Inputs[key].(string)
			if !ok || r.Type == "aws:ecr/lifecyclePolicy:LifecyclePolicy" {
				continue
			}
			var doc parsedPolicy
			if err := json.Unmarshal([]byte(s), &doc); err != nil {
				doc.Version = "invalid: " + err.Error()
			}
			docs[r.Type+" "+r.Name+" "+key] = doc
		}
	}
	return docs
}

func checkLeastPrivilege(p *offline.Plan) []string {
	var v []string
	account := offline.FakeAccountID
	for name, doc := range policyDocuments(p) {
		if doc.Version != "2012-10-17" {
			v = append(v, name+": "+doc.Version)
			continue
		}
		keyPolicy := strings.HasPrefix(name, kmsKeyType)
		for _, s := range doc.Statement {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range strs(s.Action) {
				if a == "*" || strings.HasSuffix(a, ":*") {
					v = append(v, fmt.Sprintf("%s %s: wildcard action %s", name, s.Sid, a))
				}
				if slices.Contains(strs(s.Resource), "*") && !keyPolicy && !unscopedAllowed[a] {
					v = append(v, fmt.Sprintf("%s %s: %s on every resource", name, s.Sid, a))
				}
			}
			// Principals: this account, an AWS service on its behalf, or the region's ELB log
			// delivery account; never everyone.
			switch principal := s.Principal.(type) {
			case nil:
			case string:
				v = append(v, fmt.Sprintf("%s %s: allows principal %q", name, s.Sid, principal))
			case map[string]any:
				if aws, ok := principal["AWS"].(string); ok && !strings.Contains(aws, ":"+account+":") && !isELBLogAccount(aws) {
					v = append(v, fmt.Sprintf("%s %s: allows account principal %s", name, s.Sid, aws))
				}
				if _, ok := principal["Service"]; ok && strings.HasSuffix(name, "assumeRolePolicy") &&
					s.Condition["StringEquals"]["aws:SourceAccount"] != account {
					v = append(v, fmt.Sprintf("%s: trust not limited to this account", name))
				}
			}
		}
	}
	return v
}

func isELBLogAccount(principal string) bool {
	for _, account := range elbLogAccounts {
		if strings.Contains(principal, ":"+account+":") {
			return true
		}
	}
	return false
}

// secretLooking are parts of names that say a value is a secret.
var secretLooking = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY"}

func checkSecrets(p *offline.Plan) []string {
	var v []string
	for _, r := range p.All(dbType) {
		if _, ok := r.Inputs["password"]; ok || !r.Flag("manageMasterUserPassword") {
			v = append(v, r.Name+": the database password is set by the program instead of managed by RDS")
		}
	}
	for _, r := range p.All(redisType) {
		if r.Inputs["authToken"] != offline.SecretPlaceholder {
			v = append(v, r.Name+": the AUTH token is not a secret")
		}
	}
	for _, r := range p.All("aws:secretsmanager/secretVersion:SecretVersion") {
		if r.Inputs["secretString"] != offline.SecretPlaceholder {
			v = append(v, r.Name+": secret value not marked secret")
		}
	}
	for _, r := range p.All(randomPassType) {
		if r.Outputs["result"] != offline.SecretPlaceholder {
			v = append(v, r.Name+": generated secret not marked secret")
		}
	}
	for _, td := range p.All(taskDefType) {
		var defs []containerDefinition
		if json.Unmarshal([]byte(td.In("containerDefinitions")), &defs) != nil {
			v = append(v, td.Name+": container definitions are not JSON")
			continue
		}
		for _, c := range defs {
			for _, e := range c.Environment {
				for _, word := range secretLooking {
					if strings.Contains(strings.ToUpper(e.Name), word) {
						v = append(v, fmt.Sprintf("%s: %s is in the environment, not in secrets", td.Name, e.Name))
					}
				}
				if strings.Contains(e.Value, ":secretsmanager:") || strings.Contains(e.Value, ":parameter/") {
					v = append(v, fmt.Sprintf("%s: %s holds a secret reference in the environment", td.Name, e.Name))
				}
			}
			for _, s := range c.Secrets {
				if !strings.HasPrefix(s.ValueFrom, "arn:") {
					v = append(v, fmt.Sprintf("%s: secret %s does not come from a secret store ARN", td.Name, s.Name))
				}
			}
		}
	}
	for name, value := range p.Outputs {
		// An output may name a secret (its ARN, or a map of ARNs), never hold one.
		reference := strings.HasSuffix(name, "Arn") && strings.HasPrefix(fmt.Sprint(value), "arn:")
		if m, ok := value.(map[string]any); ok && strings.HasSuffix(name, "Arns") {
			reference = true
			for _, v := range m {
				reference = reference && strings.HasPrefix(fmt.Sprint(v), "arn:")
			}
		}
		for _, word := range secretLooking {
			if strings.Contains(strings.ToUpper(name), word) && !reference {
				v = append(v, "output "+name+" looks like a secret")
			}
		}
	}
	return v
}

func checkLogRetention(p *offline.Plan) []string {
	var v []string
	for _, r := range p.All(logGroupType) {
		if !slices.Contains(logRetentionDays, int(r.Num("retentionInDays"))) {
			v = append(v, r.In("name")+": no valid retention")
		}
	}
	return v
}

func checkAlarmActions(p *offline.Plan) []string {
	var v []string
	topics := map[any]bool{}
	for _, t := range p.All("aws:sns/topic:Topic") {
		topics[t.Outputs["arn"]] = true
	}
	for _, a := range p.All(alarmType) {
		for _, key := range []string{"alarmActions", "okActions"} {
			actions := a.List(key)
			if len(actions) == 0 {
				v = append(v, a.Name+": no "+key)
			}
			for _, action := range actions {
				if !topics[action] {
					v = append(v, fmt.Sprintf("%s: %s to %v, not the alarm topic", a.Name, key, action))
				}
			}
		}
	}
	return v
}

func checkDefaultTags(p *offline.Plan) []string {
	var v []string
	// The explicit providers: the stack's region's and, with drRegion, the DR region's.
	explicit := map[string]bool{}
	for _, provider := range p.All("pulumi:providers:aws") {
		explicit[provider.URN+"::"+provider.ID] = true
		tags, _ := provider.Obj("defaultTags")["tags"].(map[string]any)
		for _, key := range []string{"Project", "Environment", "ManagedBy"} {
			if tags[key] == nil || tags[key] == "" {
				v = append(v, "the default tags of provider "+provider.Name+" lack "+key)
			}
		}
	}
	if len(explicit) == 0 {
		return []string{"no explicit AWS provider"}
	}
	for _, r := range p.Resources {
		if (strings.HasPrefix(r.Type, "aws:") || strings.HasPrefix(r.Type, "awsx:")) && !explicit[r.Provider] {
			v = append(v, r.Type+" "+r.Name+": not created through an explicit provider")
		}
	}
	for _, s := range p.All(serviceType) {
		if s.In("propagateTags") != "SERVICE" {
			v = append(v, s.Name+": tasks do not inherit the service's tags")
		}
	}
	return v
}

func checkFirewall(p *offline.Plan) []string {
	acls := p.All(webACLType)
	if len(acls) == 0 {
		return nil // waf is off
	}
	var v []string
	guarded := map[any]bool{}
	for _, a := range p.All(aclAssocType) {
		guarded[a.Inputs["resourceArn"]] = true
	}
	for _, alb := range p.All(albType) {
		if !guarded[alb.Outputs["arn"]] {
			v = append(v, alb.Name+": no web ACL")
		}
	}
	logGroups := map[any]*offline.PlanResource{}
	for _, g := range p.All(logGroupType) {
		logGroups[g.Outputs["arn"]] = g
	}
	for _, acl := range acls {
		logged := false
		for _, l := range p.All(aclLoggingType) {
			if l.Inputs["resourceArn"] != acl.Outputs["arn"] {
				continue
			}
			for _, d := range l.List("logDestinationConfigs") {
				g := logGroups[d]
				logged = logged || (g != nil && strings.HasPrefix(g.In("name"), "aws-waf-logs-") && g.Num("retentionInDays") > 0)
			}
		}
		if !logged {
			v = append(v, acl.Name+": no logs to an aws-waf-logs- log group with retention")
		}
		configs := []any{acl.Obj("visibilityConfig")}
		for _, r := range acl.List("rules") {
			configs = append(configs, r.(map[string]any)["visibilityConfig"])
		}
		for _, c := range configs {
			if c, _ := c.(map[string]any); c["cloudwatchMetricsEnabled"] != true {
				v = append(v, fmt.Sprintf("%s: a rule without metrics (%v)", acl.Name, c["metricName"]))
			}
		}
	}
	return v
}

func checkImageScanning(p *offline.Plan) []string {
	var v []string
	for _, r := range p.All(repoType) {
		if r.Obj("imageScanningConfiguration")["scanOnPush"] != true {
			v = append(v, r.Name+": no scan on push")
		}
	}
	return v
}

func checkContainers(p *offline.Plan) []string {
	var v []string
	for _, td := range p.All(taskDefType) {
		if td.In("networkMode") != "awsvpc" || !slices.Equal(td.List("requiresCompatibilities"), []any{"FARGATE"}) {
			v = append(v, td.Name+": not an awsvpc Fargate task")
		}
		var defs []map[string]any
		if json.Unmarshal([]byte(td.In("containerDefinitions")), &defs) != nil {
			v = append(v, td.Name+": container definitions are not JSON")
		}
		volumes := map[any]bool{}
		for _, vol := range td.List("volumes") {
			volumes[vol.(map[string]any)["name"]] = true
		}
		for _, c := range defs {
			if c["privileged"] != false {
				v = append(v, fmt.Sprintf("%s: container %v may run privileged", td.Name, c["name"]))
			}
			if c["readonlyRootFilesystem"] != true {
				v = append(v, fmt.Sprintf("%s: container %v may write to its root filesystem", td.Name, c["name"]))
			}
			mounts, _ := c["mountPoints"].([]any)
			for _, m := range mounts {
				if source := m.(map[string]any)["sourceVolume"]; !volumes[source] {
					v = append(v, fmt.Sprintf("%s: container %v mounts %v, which the task does not define", td.Name, c["name"], source))
				}
			}
		}
	}
	return v
}

func checkVpcHygiene(p *offline.Plan) []string {
	var v []string
	flows := p.All("aws:ec2/flowLog:FlowLog")
	if len(flows) == 0 {
		v = append(v, "no VPC flow log")
	}
	for _, f := range flows {
		if f.In("trafficType") != "ALL" || f.In("vpcId") != p.Outputs["vpcId"] {
			v = append(v, f.Name+": flow log does not record all traffic of the VPC")
		}
	}
	for _, d := range p.All("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup") {
		if len(d.List("ingress")) > 0 || len(d.List("egress")) > 0 {
			v = append(v, "the default security group keeps rules")
		}
	}
	if len(p.All("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")) != 1 {
		v = append(v, "the default security group is not managed")
	}
	return v
}

func checkLoadBalancerAndKeys(p *offline.Plan) []string {
	var v []string
	for _, r := range p.All(albType) {
		if !r.Flag("dropInvalidHeaderFields") {
			v = append(v, r.Name+": invalid headers reach the targets")
		}
		if logs := r.Obj("accessLogs"); logs["enabled"] != true || logs["bucket"] == nil {
			v = append(v, r.Name+": no access logs")
		}
	}
	for _, k := range p.All(kmsKeyType) {
		if !k.Flag("enableKeyRotation") {
			v = append(v, k.Name+": key does not rotate")
		}
	}
	return v
}
