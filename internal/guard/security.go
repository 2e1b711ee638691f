package guard

import (
	"coldchain/internal/limits"
	"coldchain/internal/plan"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Security are the SEC rules: encryption, TLS, exposure, least privilege, secrets, logs,
// alarms, tagging, containers, the VPC's hygiene, the load balancer and keys, the firewall.
var Security = []Rule{
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
		"Secrets only through secret stores: no database password in config or state, generated secrets (the Redis AUTH token) in the state only encrypted as secrets, containers get them from 'secrets' and never 'environment', no secret in the stack outputs.",
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

// --- the checks ---

func checkEncryptionAtRest(p *plan.Plan) []string {
	var v []string
	keyArns := map[any]bool{}
	for _, k := range p.All(KmsKeyType) {
		keyArns[k.Outputs["arn"]] = true
	}
	notKey := func(ref any) bool { return !keyArns[ref] && !unresolved(p, ref, KmsKeyType) }
	for _, r := range p.All(DbType) {
		if !r.Flag("storageEncrypted") || notKey(r.Inputs["kmsKeyId"]) {
			v = append(v, r.Name+": database storage not encrypted with a customer-managed key")
		}
	}
	for _, r := range p.All(RedisType) {
		if !r.Flag("atRestEncryptionEnabled") || notKey(r.Inputs["kmsKeyId"]) {
			v = append(v, r.Name+": cache not encrypted at rest with a customer-managed key")
		}
	}
	buckets := refs(p.All(BucketType), "bucket", "arn")
	encrypted := map[*plan.PlanResource]string{}
	for _, r := range p.All("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2") {
		for _, rule := range r.List("rules") {
			def := obj(obj(rule)["applyServerSideEncryptionByDefault"])
			alg := str(def["sseAlgorithm"])
			if alg == "aws:kms" && notKey(def["kmsMasterKeyId"]) {
				alg = "aws:kms with an unknown key"
			}
			encrypted[buckets[r.Inputs["bucket"]]] = alg
		}
	}
	for _, b := range p.All(BucketType) {
		switch alg := encrypted[b]; {
		case alg == "":
			v = append(v, b.Name+": bucket has no default encryption")
		case !logBuckets[b.Name] && alg != "aws:kms":
			v = append(v, b.Name+": data bucket not encrypted with the customer-managed key ("+alg+")")
		}
	}
	for _, r := range p.All("aws:sns/topic:Topic") {
		if notKey(r.Inputs["kmsMasterKeyId"]) {
			v = append(v, r.Name+": topic not encrypted with a customer-managed key")
		}
	}
	for _, r := range p.All(SecretType) {
		if notKey(r.Inputs["kmsKeyId"]) {
			v = append(v, r.Name+": secret not encrypted with a customer-managed key")
		}
	}
	for _, r := range p.All(DbType) {
		if r.Flag("manageMasterUserPassword") && notKey(r.Inputs["masterUserSecretKmsKeyId"]) {
			v = append(v, r.Name+": the RDS-managed secret is not encrypted with a customer-managed key")
		}
	}
	for _, r := range p.All(RepoType) {
		enc := first(r.List("encryptionConfigurations"))
		if enc["encryptionType"] != "KMS" || notKey(enc["kmsKey"]) {
			v = append(v, r.Name+": repository not encrypted with a customer-managed key")
		}
	}
	return v
}

func checkTLS(p *plan.Plan) []string {
	var v []string
	for _, r := range p.All("aws:rds/parameterGroup:ParameterGroup") {
		forced := false
		for _, param := range r.List("parameters") {
			m := obj(param)
			forced = forced || m["name"] == "rds.force_ssl" && m["value"] == "1"
		}
		if !forced {
			v = append(v, r.Name+": parameter group does not force TLS")
		}
	}
	for _, r := range p.All(RedisType) {
		if !r.Flag("transitEncryptionEnabled") {
			v = append(v, r.Name+": cache accepts plain connections")
		}
	}
	https := false
	for _, l := range p.All(ListenerType) {
		switch l.In("protocol") {
		case "HTTPS":
			https = true
			if l.In("sslPolicy") != limits.TLSPolicy {
				v = append(v, l.Name+": HTTPS listener policy "+l.In("sslPolicy"))
			}
		case "HTTP":
			continue
		default:
			v = append(v, l.Name+": listener protocol "+l.In("protocol"))
		}
	}
	if https {
		for _, l := range p.All(ListenerType) {
			if l.In("protocol") == "HTTP" {
				action := first(l.List("defaultActions"))
				redirect := obj(action["redirect"])
				if action["type"] != "redirect" || redirect["protocol"] != "HTTPS" {
					v = append(v, l.Name+": HTTP is served next to HTTPS instead of redirected")
				}
			}
		}
	}
	for _, r := range p.All("aws:s3/bucketPolicy:BucketPolicy") {
		if !known(r.Inputs["policy"]) {
			continue // a preview shows a policy naming a bucket not created yet as unknown
		}
		var doc PolicyDocument
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

func checkInternetExposure(p *plan.Plan) []string {
	var v []string
	var alb any
	for _, sg := range p.All(SgType) {
		if sg.Name == "alb-sg" {
			alb = sg.ID
		}
	}
	for _, r := range p.All(IngressType) {
		open := r.In("cidrIpv4") == "0.0.0.0/0" || r.In("cidrIpv6") == "::/0"
		if r.In("cidrIpv4") != "" && r.In("cidrIpv4") != "0.0.0.0/0" {
			v = append(v, r.Name+": ingress from a CIDR "+r.In("cidrIpv4"))
		}
		if open && (differs(r.Inputs["securityGroupId"], alb) || (r.Num("fromPort") != 80 && r.Num("fromPort") != 443) || r.Num("fromPort") != r.Num("toPort")) {
			v = append(v, fmt.Sprintf("%s: port %v open to the internet", r.Name, r.Inputs["fromPort"]))
		}
	}
	for _, s := range p.All(ServiceType) {
		if network := s.Obj("networkConfiguration"); network["assignPublicIp"] != false {
			v = append(v, s.Name+": tasks get a public IP")
		}
	}
	for _, r := range p.All(DbType) {
		if r.Flag("publiclyAccessible") {
			v = append(v, r.Name+": database publicly accessible")
		}
	}
	for _, r := range p.All(AlbType) {
		if r.Flag("internal") {
			continue
		}
		for _, sg := range r.List("securityGroups") {
			if differs(sg, alb) {
				v = append(v, r.Name+": internet-facing load balancer outside the ALB security group")
			}
		}
	}
	// The stores sit in the isolated subnets, which have no route to the internet.
	// (NET-06 checks the same from the subnets; this, from the stack's outputs.)
	isolated := p.Outputs["isolatedSubnetIds"]
	for _, r := range append(p.All("aws:rds/subnetGroup:SubnetGroup"), p.All("aws:elasticache/subnetGroup:SubnetGroup")...) {
		if !hasUnknown(isolated) && !hasUnknown(r.Inputs["subnetIds"]) && fmt.Sprint(r.List("subnetIds")) != fmt.Sprint(isolated) {
			v = append(v, r.Name+": subnet group outside the isolated subnets")
		}
	}
	return v
}

// policyDocuments returns every IAM-language document of the plan by "<type> <name>".
func policyDocuments(p *plan.Plan) map[string]PolicyDocument {
	docs := map[string]PolicyDocument{}
	for _, r := range p.Resources {
		for _, key := range []string{"policy", "assumeRolePolicy"} {
			s, ok := r.Inputs[key].(string)
			// A preview shows a document naming a resource not created yet as unknown; a
			// secret one (none is) as the placeholder.
			if !ok || !known(s) || s == plan.SecretPlaceholder || r.Type == "aws:ecr/lifecyclePolicy:LifecyclePolicy" {
				continue
			}
			var doc PolicyDocument
			if err := json.Unmarshal([]byte(s), &doc); err != nil {
				doc.Version = "invalid: " + err.Error()
			}
			docs[r.Type+" "+r.Name+" "+key] = doc
		}
	}
	return docs
}

func checkLeastPrivilege(p *plan.Plan) []string {
	var v []string
	account := p.Account
	for name, doc := range policyDocuments(p) {
		if doc.Version != "2012-10-17" {
			v = append(v, name+": "+doc.Version)
			continue
		}
		keyPolicy := strings.HasPrefix(name, KmsKeyType)
		for _, s := range doc.Statement {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range Strs(s.Action) {
				if a == "*" || strings.HasSuffix(a, ":*") {
					v = append(v, fmt.Sprintf("%s %s: wildcard action %s", name, s.Sid, a))
				}
				if slices.Contains(Strs(s.Resource), "*") && !keyPolicy && !UnscopedAllowed[a] {
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
				// With no known account (a preview with neither ARNs nor trust policies
				// known yet), no account principal can be judged.
				if aws, ok := principal["AWS"].(string); ok && account != "" && known(aws) && !strings.Contains(aws, ":"+account+":") && !isELBLogAccount(aws) {
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
	for _, account := range limits.ELBLogAccounts {
		if strings.Contains(principal, ":"+account+":") {
			return true
		}
	}
	return false
}

// secretLooking are parts of names that say a value is a secret.
var secretLooking = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY"}

func checkSecrets(p *plan.Plan) []string {
	var v []string
	for _, r := range p.All(DbType) {
		if _, ok := r.Inputs["password"]; ok || !r.Flag("manageMasterUserPassword") {
			v = append(v, r.Name+": the database password is set by the program instead of managed by RDS")
		}
	}
	for _, r := range p.All(RedisType) {
		if r.Inputs["authToken"] != plan.SecretPlaceholder {
			v = append(v, r.Name+": the AUTH token is not a secret")
		}
	}
	for _, r := range p.All("aws:secretsmanager/secretVersion:SecretVersion") {
		if r.Inputs["secretString"] != plan.SecretPlaceholder {
			v = append(v, r.Name+": secret value not marked secret")
		}
	}
	for _, r := range p.All(RandomPassType) {
		if r.Outputs["result"] != plan.SecretPlaceholder {
			v = append(v, r.Name+": generated secret not marked secret")
		}
	}
	for _, td := range p.All(TaskDefType) {
		if !known(td.Inputs["containerDefinitions"]) {
			continue // the images' repository URLs are unknown until the repositories exist
		}
		var defs []containerDef
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
		if hasUnknown(value) {
			continue // an ARN AWS has not assigned yet
		}
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

func checkLogRetention(p *plan.Plan) []string {
	var v []string
	for _, r := range p.All(LogGroupType) {
		if !slices.Contains(limits.LogRetentionDays, int(r.Num("retentionInDays"))) {
			v = append(v, r.In("name")+": no valid retention")
		}
	}
	return v
}

func checkAlarmActions(p *plan.Plan) []string {
	var v []string
	topics := map[any]bool{}
	for _, t := range p.All("aws:sns/topic:Topic") {
		topics[t.Outputs["arn"]] = true
	}
	for _, a := range p.All(AlarmType) {
		for _, key := range []string{"alarmActions", "okActions"} {
			actions := a.List(key)
			if len(actions) == 0 {
				v = append(v, a.Name+": no "+key)
			}
			for _, action := range actions {
				if !topics[action] && !opaque(action) {
					v = append(v, fmt.Sprintf("%s: %s to %v, not the alarm topic", a.Name, key, action))
				}
			}
		}
	}
	return v
}

func checkDefaultTags(p *plan.Plan) []string {
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
		// Components hold no AWS resource of their own: the awsx VPC's provider may be awsx's
		// default, while its children are created through the provider it is given.
		if r.Custom && strings.HasPrefix(r.Type, "aws:") && !explicit[r.Provider] {
			v = append(v, r.Type+" "+r.Name+": not created through an explicit provider")
		}
	}
	for _, s := range p.All(ServiceType) {
		if s.In("propagateTags") != "SERVICE" {
			v = append(v, s.Name+": tasks do not inherit the service's tags")
		}
	}
	return v
}

func checkFirewall(p *plan.Plan) []string {
	acls := p.All(WebACLType)
	if len(acls) == 0 {
		return nil // waf is off
	}
	var v []string
	guarded := map[any]bool{}
	for _, a := range p.All(AclAssocType) {
		guarded[a.Inputs["resourceArn"]] = true
	}
	for _, alb := range p.All(AlbType) {
		if !guarded[alb.Outputs["arn"]] {
			v = append(v, alb.Name+": no web ACL")
		}
	}
	logGroups := map[any]*plan.PlanResource{}
	for _, g := range p.All(LogGroupType) {
		logGroups[g.Outputs["arn"]] = g
	}
	for _, acl := range acls {
		logged := false
		for _, l := range p.All(AclLoggingType) {
			if differs(l.Inputs["resourceArn"], acl.Outputs["arn"]) {
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
			configs = append(configs, obj(r)["visibilityConfig"])
		}
		for _, c := range configs {
			if c, _ := c.(map[string]any); c["cloudwatchMetricsEnabled"] != true {
				v = append(v, fmt.Sprintf("%s: a rule without metrics (%v)", acl.Name, c["metricName"]))
			}
		}
	}
	return v
}

func checkImageScanning(p *plan.Plan) []string {
	var v []string
	for _, r := range p.All(RepoType) {
		if r.Obj("imageScanningConfiguration")["scanOnPush"] != true {
			v = append(v, r.Name+": no scan on push")
		}
	}
	return v
}

func checkContainers(p *plan.Plan) []string {
	var v []string
	for _, td := range p.All(TaskDefType) {
		if td.In("networkMode") != "awsvpc" || !slices.Equal(td.List("requiresCompatibilities"), []any{"FARGATE"}) {
			v = append(v, td.Name+": not an awsvpc Fargate task")
		}
		var defs []map[string]any
		if !known(td.Inputs["containerDefinitions"]) {
			continue // the images' repository URLs are unknown until the repositories exist
		}
		if json.Unmarshal([]byte(td.In("containerDefinitions")), &defs) != nil {
			v = append(v, td.Name+": container definitions are not JSON")
		}
		volumes := map[any]bool{}
		for _, vol := range td.List("volumes") {
			volumes[obj(vol)["name"]] = true
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
				if source := obj(m)["sourceVolume"]; !volumes[source] {
					v = append(v, fmt.Sprintf("%s: container %v mounts %v, which the task does not define", td.Name, c["name"], source))
				}
			}
		}
	}
	return v
}

func checkVpcHygiene(p *plan.Plan) []string {
	var v []string
	flows := p.All("aws:ec2/flowLog:FlowLog")
	if len(flows) == 0 {
		v = append(v, "no VPC flow log")
	}
	for _, f := range flows {
		if f.In("trafficType") != "ALL" || differs(f.Inputs["vpcId"], p.Outputs["vpcId"]) {
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

func checkLoadBalancerAndKeys(p *plan.Plan) []string {
	var v []string
	for _, r := range p.All(AlbType) {
		if !r.Flag("dropInvalidHeaderFields") {
			v = append(v, r.Name+": invalid headers reach the targets")
		}
		if logs := r.Obj("accessLogs"); logs["enabled"] != true || logs["bucket"] == nil {
			v = append(v, r.Name+": no access logs")
		}
	}
	for _, k := range p.All(KmsKeyType) {
		if !k.Flag("enableKeyRotation") {
			v = append(v, k.Name+": key does not rotate")
		}
	}
	return v
}

// UnscopedAllowed are the actions whose APIs take no resource, so "*" is the narrowest.
var UnscopedAllowed = map[string]bool{
	"ecr:GetAuthorizationToken":        true,
	"ssmmessages:CreateControlChannel": true,
	"ssmmessages:CreateDataChannel":    true,
	"ssmmessages:OpenControlChannel":   true,
	"ssmmessages:OpenDataChannel":      true,
}

// containerDef is the part of an ECS container definition the rules read.
type containerDef struct {
	Name        string
	Environment []struct{ Name, Value string }
	Secrets     []struct{ Name, ValueFrom string }
}

// logBuckets are the buckets of logs, which alone may use SSE-S3: the load balancer's access
// logs and S3's server access logs cannot be delivered to a bucket whose default encryption is
// SSE-KMS ("logs" receives both; "logs-dr", in the DR region, the replicas' access logs).
var logBuckets = map[string]bool{"logs": true, "logs-dr": true}
