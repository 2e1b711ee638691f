package offline

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/big"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// autonamed maps each resource type the engine knows to autoname to the property autonaming
// fills in. The engine fills it as Pulumi would: the logical name, "-", and 7 hex digits (here
// derived from the URN, so plans are deterministic).
var autonamed = map[string]string{
	"aws:ec2/securityGroup:SecurityGroup":               "name",
	"aws:iam/role:Role":                                 "name",
	"aws:iam/rolePolicy:RolePolicy":                     "name",
	"aws:rds/parameterGroup:ParameterGroup":             "name",
	"aws:rds/subnetGroup:SubnetGroup":                   "name",
	"aws:elasticache/subnetGroup:SubnetGroup":           "name",
	"aws:elasticache/replicationGroup:ReplicationGroup": "replicationGroupId",
	"aws:secretsmanager/secret:Secret":                  "name",
	"aws:lb/loadBalancer:LoadBalancer":                  "name",
	"aws:lb/targetGroup:TargetGroup":                    "name",
	"aws:appautoscaling/policy:Policy":                  "name",
	"aws:cloudwatch/eventRule:EventRule":                "name",
	"aws:sfn/stateMachine:StateMachine":                 "name",
}

// AutonamedProperty is the property autonaming fills in for a resource type, if the type is
// autonamed.
func AutonamedProperty(typ string) (string, bool) {
	prop, ok := autonamed[typ]
	return prop, ok
}

// ec2Owned are the EC2 resources with an owner and an ARN "<arnType>/<id>", whose ids are
// "<idPrefix>-0" and 16 hex digits.
var ec2Owned = map[string]struct{ idPrefix, arnType string }{
	"aws:ec2/vpc:Vpc":                         {"vpc", "vpc"},
	"aws:ec2/internetGateway:InternetGateway": {"igw", "internet-gateway"},
	"aws:ec2/subnet:Subnet":                   {"subnet", "subnet"},
	"aws:ec2/routeTable:RouteTable":           {"rtb", "route-table"},
	"aws:ec2/vpcEndpoint:VpcEndpoint":         {"vpce", "vpc-endpoint"},
}

// fakeState answers a registration with what AWS would compute for it: an id, an ARN, the
// autonamed physical name and the other attributes later resources read. Every value derives
// from the URN, so two plans of the same program are identical.
func fakeState(acct account, typ, name, urn string, inputs resource.PropertyMap) (string, resource.PropertyMap) {
	out := inputs.Copy()
	h := hashHex(stackless(urn))
	set := func(key string, v any) { out[resource.PropertyKey(key)] = resource.NewPropertyValue(v) }
	get := func(key string) string {
		if v, ok := out[resource.PropertyKey(key)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	if prop, ok := autonamed[typ]; ok && get(prop) == "" {
		set(prop, name+autonameSuffixOf(urn))
	}
	id := name + autonameSuffixOf(urn)
	if prop, ok := autonamed[typ]; ok {
		id = get(prop)
	} else if n := get("name"); n != "" {
		id = n
	}
	awsID := func(prefix string) string { return prefix + "-0" + h[:16] }

	if ec2, ok := ec2Owned[typ]; ok {
		id = awsID(ec2.idPrefix)
		set("arn", acct.arn("ec2", ec2.arnType+"/"+id))
		set("ownerId", acct.id)
	}
	switch typ {
	case "pulumi:providers:aws":
		id = uuid(h)
	case "aws:ec2/vpc:Vpc":
		set("defaultSecurityGroupId", "sg-0"+hashHex(stackless(urn), "default-sg")[:16])
		set("defaultRouteTableId", "rtb-0"+hashHex(stackless(urn), "main-rtb")[:16])
		set("mainRouteTableId", "rtb-0"+hashHex(stackless(urn), "main-rtb")[:16])
		set("defaultNetworkAclId", "acl-0"+hashHex(stackless(urn), "default-acl")[:16])
	case "aws:ec2/routeTableAssociation:RouteTableAssociation":
		id = awsID("rtbassoc")
	case "aws:ec2/route:Route":
		// The provider's id: "r-", the route table id, and the CRC-32 of the destination.
		id = fmt.Sprintf("r-%s%d", get("routeTableId"), crc32.ChecksumIEEE([]byte(get("destinationCidrBlock"))))
	case "aws:ec2/eip:Eip":
		id = awsID("eipalloc")
		set("allocationId", id)
		set("domain", "vpc")
		set("arn", acct.arn("ec2", "elastic-ip/"+id))
	case "aws:ec2/natGateway:NatGateway":
		id = awsID("nat")
		set("networkInterfaceId", "eni-0"+hashHex(stackless(urn), "eni")[:16])
		set("connectivityType", "public")
	case "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
		id = awsID("sg")
		set("arn", acct.arn("ec2", "security-group/"+id))
	case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
		id = awsID("sgr")
		set("securityGroupRuleId", id)
		set("arn", acct.arn("ec2", "security-group-rule/"+id))
	case "aws:ec2/flowLog:FlowLog":
		id = awsID("fl")
		set("arn", acct.arn("ec2", "vpc-flow-log/"+id))
	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", acct.arn("logs", "log-group:"+get("name")))
	case "aws:iam/role:Role":
		set("arn", acct.arn("iam", "role/"+get("name")))
		set("uniqueId", "AROA"+fmt.Sprintf("%.17s", h))
	case "aws:iam/rolePolicy:RolePolicy":
		id = get("role") + ":" + get("name")
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		// IAM names a provider by its URL without the scheme.
		set("arn", acct.arn("iam", "oidc-provider/"+strings.TrimPrefix(get("url"), "https://")))
		id = get("arn")
	case "aws:iam/serviceLinkedRole:ServiceLinkedRole":
		service := get("awsServiceName")
		name := map[string]string{"config.amazonaws.com": "AWSServiceRoleForConfig"}[service]
		set("name", name)
		set("arn", acct.arn("iam", "role/aws-service-role/"+service+"/"+name))
		id = get("arn")
	case "aws:accessanalyzer/analyzer:Analyzer":
		id = get("analyzerName")
		set("arn", acct.arn("access-analyzer", "analyzer/"+id))
	case "aws:securityhub/account:Account":
		id = acct.id
		set("arn", acct.arn("securityhub", "hub/default"))
	case "aws:securityhub/standardsSubscription:StandardsSubscription":
		id = get("standardsArn")
	case "aws:cfg/recorder:Recorder", "aws:cfg/deliveryChannel:DeliveryChannel", "aws:cfg/recorderStatus:RecorderStatus":
		id = get("name")
	case "aws:budgets/budget:Budget":
		id = acct.id + ":" + get("name")
		set("arn", fmt.Sprintf("arn:%s:budgets::%s:budget/%s", acct.partition, acct.id, get("name")))
	case "aws:costexplorer/costAllocationTag:CostAllocationTag":
		id = get("tagKey")
	case "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock":
		id = acct.id
	case "aws:kms/key:Key":
		id = uuid(h)
		set("keyId", id)
		set("arn", acct.arn("kms", "key/"+id))
	case "aws:kms/alias:Alias":
		id = get("name")
		set("arn", acct.arn("kms", get("name")))
	case "aws:s3/bucketV2:BucketV2":
		id = get("bucket")
		set("arn", fmt.Sprintf("arn:%s:s3:::%s", acct.partition, id))
		set("bucketRegionalDomainName", fmt.Sprintf("%s.s3.%s.%s", id, acct.region, acct.dnsSuffix))
	case "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketVersioningV2:BucketVersioningV2",
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
		"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "aws:s3/bucketLoggingV2:BucketLoggingV2":
		id = get("bucket")
	case "aws:ecr/repository:Repository":
		id = get("name")
		set("arn", acct.arn("ecr", "repository/"+id))
		set("registryId", acct.id)
		set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.%s/%s", acct.id, acct.region, acct.dnsSuffix, id))
	case "aws:ecr/lifecyclePolicy:LifecyclePolicy":
		id = get("repository")
		set("registryId", acct.id)
	case "aws:rds/parameterGroup:ParameterGroup":
		set("arn", acct.arn("rds", "pg:"+id))
	case "aws:rds/subnetGroup:SubnetGroup":
		set("arn", acct.arn("rds", "subgrp:"+id))
	case "aws:rds/instance:Instance":
		id = get("identifier")
		address := fmt.Sprintf("%s.c%s.%s.rds.%s", id, h[:12], acct.region, acct.dnsSuffix)
		set("address", address)
		port := 5432 // the provider's default for postgres, which the program may override
		if p, ok := out["port"]; ok && p.IsNumber() {
			port = int(p.NumberValue())
		}
		set("endpoint", fmt.Sprintf("%s:%d", address, port))
		set("arn", acct.arn("rds", "db:"+id))
		set("resourceId", "db-"+strings.ToUpper(h[:26]))
		set("engineVersionActual", get("engineVersion")+".4")
		set("masterUserSecrets", []map[string]any{{
			"secretArn":    acct.arn("secretsmanager", "secret:rds!db-"+uuid(hashHex(stackless(urn), "secret"))+"-"+h[:6]),
			"kmsKeyId":     get("masterUserSecretKmsKeyId"),
			"secretStatus": "active",
		}})
	case "aws:elasticache/subnetGroup:SubnetGroup":
		set("arn", acct.arn("elasticache", "subnetgroup:"+id))
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		host := fmt.Sprintf("%s.%s.%s.cache.%s", id, h[:6], regionCode(acct.region), acct.dnsSuffix)
		set("arn", acct.arn("elasticache", "replicationgroup:"+id))
		set("primaryEndpointAddress", "master."+host)
		set("readerEndpointAddress", "replica."+host)
		var members []string
		if n, ok := out["numCacheClusters"]; ok && n.IsNumber() {
			for i := 1; i <= int(n.NumberValue()); i++ {
				members = append(members, fmt.Sprintf("%s-%03d", id, i))
			}
		}
		set("memberClusters", members)
	case "aws:secretsmanager/secret:Secret":
		// The provider's id of a secret is its ARN.
		set("arn", acct.arn("secretsmanager", "secret:"+id+"-"+h[:6]))
		id = get("arn")
	case "aws:secretsmanager/secretVersion:SecretVersion":
		version := uuid(hashHex(stackless(urn), "version"))
		id = get("secretId") + "|" + version
		set("versionId", version)
		set("arn", get("secretId"))
	case "aws:ecs/cluster:Cluster":
		set("arn", acct.arn("ecs", "cluster/"+id))
		id = acct.arn("ecs", "cluster/"+id)
	case "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders":
		id = get("clusterName")
	case "aws:ecs/taskDefinition:TaskDefinition":
		family := get("family")
		set("arn", acct.arn("ecs", "task-definition/"+family+":1"))
		set("arnWithoutRevision", acct.arn("ecs", "task-definition/"+family))
		set("revision", 1)
		id = family
	case "aws:ecs/service:Service":
		cluster := get("cluster")
		clusterName := cluster[strings.LastIndex(cluster, "/")+1:]
		id = acct.arn("ecs", "service/"+clusterName+"/"+get("name"))
	case "aws:lb/loadBalancer:LoadBalancer":
		suffix := "app/" + id + "/" + h[:16]
		id = acct.arn("elasticloadbalancing", "loadbalancer/"+suffix)
		set("arn", id)
		set("arnSuffix", suffix)
		set("dnsName", fmt.Sprintf("%s-%d.%s.elb.%s", get("name"), 1000000000+int(hashNumber(h)%1000000000), acct.region, acct.dnsSuffix))
		set("zoneId", "ZWKZPGTI48KDX")
	case "aws:lb/targetGroup:TargetGroup":
		suffix := "targetgroup/" + id + "/" + h[:16]
		id = acct.arn("elasticloadbalancing", suffix)
		set("arn", id)
		set("arnSuffix", suffix)
	case "aws:lb/listener:Listener":
		id = strings.Replace(get("loadBalancerArn"), ":loadbalancer/", ":listener/", 1) + "/" + h[:16]
		set("arn", id)
	case "aws:lb/listenerRule:ListenerRule":
		id = strings.Replace(get("listenerArn"), ":listener/", ":listener-rule/", 1) + "/" + h[:16]
		set("arn", id)
	case "aws:acm/certificate:Certificate":
		id = acct.arn("acm", "certificate/"+uuid(h))
		set("arn", id)
		set("status", "PENDING_VALIDATION")
		set("domainValidationOptions", []map[string]any{{
			"domainName":          get("domainName"),
			"resourceRecordName":  "_" + h[:32] + "." + get("domainName") + ".",
			"resourceRecordType":  "CNAME",
			"resourceRecordValue": "_" + h[32:64] + ".acm-validations.aws.",
		}})
	case "aws:acm/certificateValidation:CertificateValidation":
		id = get("certificateArn")
	case "aws:route53/record:Record":
		id = get("zoneId") + "_" + get("name") + "_" + get("type")
		set("fqdn", strings.TrimSuffix(get("name"), "."))
	case "aws:appautoscaling/target:Target":
		id = get("resourceId")
		set("arn", acct.arn("application-autoscaling", "scalable-target/"+h[:30]))
	case "aws:appautoscaling/policy:Policy":
		set("arn", acct.arn("autoscaling", "scalingPolicy:"+uuid(h)+":resource/ecs/"+get("resourceId")+":policyName/"+id))
		set("alarmArns", []string{})
	case "aws:sns/topic:Topic":
		id = acct.arn("sns", get("name"))
		set("arn", id)
		set("owner", acct.id)
	case "aws:sns/topicPolicy:TopicPolicy":
		id = get("arn")
		set("owner", acct.id)
	case "aws:sns/topicSubscription:TopicSubscription":
		id = get("topic") + ":" + uuid(h)
		set("arn", id)
		set("pendingConfirmation", get("protocol") == "email")
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		set("arn", acct.arn("cloudwatch", "alarm:"+id))
	case "aws:cloudwatch/eventRule:EventRule":
		set("arn", acct.arn("events", "rule/"+id))
	case "aws:cloudwatch/eventTarget:EventTarget":
		set("targetId", "target-"+h[:8])
		id = get("rule") + "-target-" + h[:8]
	case "aws:sfn/stateMachine:StateMachine":
		set("arn", acct.arn("states", "stateMachine:"+id))
		id = acct.arn("states", "stateMachine:"+id)
		set("status", "ACTIVE")
	case "aws:wafv2/webAcl:WebAcl":
		id = uuid(h)
		set("arn", acct.arn("wafv2", strings.ToLower(get("scope"))+"/webacl/"+get("name")+"/"+id))
	case "aws:wafv2/webAclAssociation:WebAclAssociation":
		id = get("webAclArn") + "," + get("resourceArn")
	case "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration":
		id = get("resourceArn")
	case "aws:cloudwatch/dashboard:Dashboard":
		id = get("dashboardName")
		set("dashboardArn", fmt.Sprintf("arn:%s:cloudwatch::%s:dashboard/%s", acct.partition, acct.id, id))
	case "random:index/randomId:RandomId":
		n := 8
		if b, ok := out["byteLength"]; ok && b.IsNumber() {
			n = int(b.NumberValue())
		}
		raw, _ := hex.DecodeString(h[:2*n])
		set("hex", h[:2*n])
		set("b64Url", base64.RawURLEncoding.EncodeToString(raw))
		set("b64Std", base64.StdEncoding.EncodeToString(raw))
		set("dec", new(big.Int).SetBytes(raw).String())
		id = base64.RawURLEncoding.EncodeToString(raw)
	case "random:index/randomPassword:RandomPassword":
		length := 16
		if n, ok := out["length"]; ok && n.IsNumber() {
			length = int(n.NumberValue())
		}
		password := ""
		for i := 0; len(password) < length; i++ {
			password += hashHex(stackless(urn), "password", fmt.Sprint(i))
		}
		set("result", password[:length])
		id = "none"
	}
	return id, out
}

// uuid formats the first 32 hex digits of h as a UUID, as KMS key ids and provider ids are.
func uuid(h string) string {
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// hashNumber is a number derived from a hex hash, for the digits of fake DNS names.
func hashNumber(h string) uint64 {
	n, _ := strconv.ParseUint(h[:15], 16, 64)
	return n
}
