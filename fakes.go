package main

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// autonamed maps each resource type the program creates with an autonamed physical name to the
// property autonaming fills in. The offline engine fills it as Pulumi would: the logical name,
// "-", and 7 hex digits (here derived from the URN, so plans are deterministic).
var autonamed = map[string]string{
	"aws:ec2/securityGroup:SecurityGroup": "name",
	"aws:iam/role:Role":                   "name",
	"aws:iam/rolePolicy:RolePolicy":       "name",
}

// fakeState answers a registration with what AWS would compute for it: an id, an ARN, the
// autonamed physical name and the other attributes later resources read. Every value derives
// from the URN, so two plans of the same program are identical.
func fakeState(env awsEnv, typ, name, urn string, inputs resource.PropertyMap) (string, resource.PropertyMap) {
	out := inputs.Copy()
	h := hashHex(urn)
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

	switch typ {
	case "pulumi:providers:aws":
		id = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	case "awsx:ec2:Vpc":
		subnets := func(kind string) []string {
			return []string{"subnet-0" + hashHex(urn, kind, "0")[:16], "subnet-0" + hashHex(urn, kind, "1")[:16]}
		}
		set("vpcId", awsID("vpc"))
		set("publicSubnetIds", subnets("public"))
		set("privateSubnetIds", subnets("private"))
		set("isolatedSubnetIds", subnets("isolated"))
	case "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
		id = awsID("sg")
		set("arn", env.arn("ec2", env.Region, "security-group/"+id))
	case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
		id = awsID("sgr")
		set("securityGroupRuleId", id)
		set("arn", env.arn("ec2", env.Region, "security-group-rule/"+id))
	case "aws:ec2/flowLog:FlowLog":
		id = awsID("fl")
		set("arn", env.arn("ec2", env.Region, "vpc-flow-log/"+id))
	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", env.arn("logs", env.Region, "log-group:"+get("name")))
	case "aws:iam/role:Role":
		set("arn", env.arn("iam", "", "role/"+get("name")))
		set("uniqueId", "AROA"+fmt.Sprintf("%.17s", h))
	case "aws:iam/rolePolicy:RolePolicy":
		id = get("role") + ":" + get("name")
	}
	return id, out
}
