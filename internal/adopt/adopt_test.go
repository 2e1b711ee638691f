package adopt

import (
	"testing"

	"coldchain/internal/tfstate"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInputNamesBecomeTerraformAttributes(t *testing.T) {
	attrs := map[string]any{
		"cidr_ipv4":                  "10.0.0.0/16",
		"encryption_configuration":   []any{map[string]any{"encryption_type": "AES256", "kms_key": ""}},
		"capacity_provider_strategy": []any{map[string]any{"capacity_provider": "FARGATE"}, map[string]any{"capacity_provider": "FARGATE_SPOT"}},
		"health_check":               []any{map[string]any{"path": "/health", "interval": float64(30)}},
		"dimensions":                 map[string]any{"LoadBalancer": "app/x/1"},
		"tags":                       map[string]any{"Name": "vpc"},
		"alarm_name":                 "cpu",
		"deregistration_delay":       "30",
	}
	for path, want := range map[string][]string{
		"cidrIpv4": {"10.0.0.0/16"},
		// pulumi makes list blocks plural and blocks of at most one element objects.
		"encryptionConfigurations.*.encryptionType":     {"AES256"},
		"capacityProviderStrategies.*.capacityProvider": {"FARGATE", "FARGATE_SPOT"},
		"healthCheck.interval":                          {"30"},
		// A map attribute's keys are data, kept as they are; a key it lacks is empty.
		"dimensions.LoadBalancer": {"app/x/1"},
		"tags.SubnetType":         nil,
		// The rule's renames, and Terraform's numbers written as strings.
		"name":                {"cpu"},
		"deregistrationDelay": {"30"},
	} {
		got, found := tfLookup(attrs, path, &rule{renames: map[string]string{"name": "alarm_name"}})
		assert.True(t, found, path)
		assert.Equal(t, want, got, path)
	}
	_, found := tfLookup(attrs, "healthCheck.noSuchThing", &rule{})
	assert.False(t, found, "a block's missing attribute is no attribute at all")
	_, found = tfLookup(attrs, "notAnAttribute", &rule{})
	assert.False(t, found)
	assert.Equal(t, "iam_database_authentication_enabled", snake("iamDatabaseAuthenticationEnabled"))
}

func TestEngineVersionsCompareByPrefix(t *testing.T) {
	assert.True(t, versionPrefix("15", "15.4"))
	assert.True(t, versionPrefix("7.0", "7.0"))
	assert.False(t, versionPrefix("15", "16.1"))
	assert.False(t, versionPrefix("1", "15.4"), "a prefix ends at a dot")
}

func res(typ, address string, attrs map[string]any) *tfstate.Resource {
	return &tfstate.Resource{Type: typ, Address: address, Provider: `provider["registry.terraform.io/hashicorp/aws"]`, Attributes: attrs}
}

func TestExpandMakesInlineRoutesAndRulesInstances(t *testing.T) {
	table := res("aws_route_table", "aws_route_table.private", map[string]any{
		"id": "rtb-1",
		"route": []any{
			map[string]any{"cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1", "gateway_id": ""},
			map[string]any{"cidr_block": "10.1.0.0/16", "gateway_id": "pcx-1"},
		},
	})
	// The 10.1.0.0/16 route is also a resource of its own: Terraform lists it in both places.
	peering := res("aws_route", "aws_route.peering", map[string]any{"id": "r-rtb-1123", "route_table_id": "rtb-1", "destination_cidr_block": "10.1.0.0/16"})
	group := res("aws_security_group", "aws_security_group.db", map[string]any{
		"id": "sg-db",
		"ingress": []any{map[string]any{"protocol": "tcp", "from_port": float64(5432), "to_port": float64(5432),
			"cidr_blocks": []any{}, "security_groups": []any{"sg-app", "sg-ops"}, "self": false}},
		"egress": []any{map[string]any{"protocol": "-1", "from_port": float64(0), "to_port": float64(0),
			"cidr_blocks": []any{"0.0.0.0/0"}, "security_groups": []any{}}},
	})
	// The rule from sg-ops is also an aws_security_group_rule: one instance, at that address.
	rule := res("aws_security_group_rule", "aws_security_group_rule.ops", map[string]any{
		"type": "ingress", "security_group_id": "sg-db", "protocol": "tcp", "from_port": float64(5432), "to_port": float64(5432),
		"source_security_group_id": "sg-ops",
	})
	e := expand([]*tfstate.Resource{group, rule, table, peering}, nil)

	byAddress := map[string]*tfstate.Resource{}
	for _, r := range e.all {
		byAddress[r.Address] = r
	}
	route := byAddress["aws_route_table.private (route 1, 0.0.0.0/0)"]
	require.NotNil(t, route)
	assert.Equal(t, "aws_route", route.Type)
	assert.Equal(t, "rtb-1_0.0.0.0/0", route.String("id"), "the import id of a route")
	assert.Equal(t, "aws_route_table.private", e.inline[route])
	assert.NotContains(t, byAddress, "aws_route_table.private (route 2, 10.1.0.0/16)", "listed once, as its own resource")

	fromApp := byAddress["aws_security_group.db (ingress rule 1)"]
	require.NotNil(t, fromApp)
	assert.Equal(t, "aws_vpc_security_group_ingress_rule", fromApp.Type)
	assert.Equal(t, "sg-app", fromApp.String("referenced_security_group_id"))
	assert.Equal(t, "5432", scalar(fromApp.Attributes["from_port"]))
	assert.True(t, e.noID[fromApp], "Terraform keeps no id of an inline rule")
	fromOps := byAddress["aws_security_group_rule.ops"]
	require.NotNil(t, fromOps)
	assert.Equal(t, "", e.inline[fromOps], "an aws_security_group_rule is its own resource")
	assert.True(t, e.noID[fromOps])
	allOut := byAddress["aws_security_group.db (egress rule 1)"]
	require.NotNil(t, allOut)
	assert.Equal(t, "-1", allOut.String("ip_protocol"))
	assert.Nil(t, allOut.Attributes["from_port"], "all protocols have no ports")
	assert.Len(t, e.all, 7, "group, table, peering route, inline route, two ingress rules and the egress rule")

	// AWS's own list gives the rules their ids, and shows a rule Terraform does not know.
	aws, err := ParseAWSRules([]byte(`{"SecurityGroupRules": [
		{"SecurityGroupRuleId": "sgr-app", "GroupId": "sg-db", "IsEgress": false, "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
		 "ReferencedGroupInfo": {"GroupId": "sg-app"}},
		{"SecurityGroupRuleId": "sgr-manual", "GroupId": "sg-db", "IsEgress": false, "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
		 "CidrIpv4": "203.0.113.0/24"}]}`))
	require.NoError(t, err)
	e = expand([]*tfstate.Resource{group, rule, table, peering}, aws)
	for _, r := range e.all {
		byAddress[r.Address] = r
	}
	fromApp = byAddress["aws_security_group.db (ingress rule 1)"]
	assert.Equal(t, "sgr-app", fromApp.String("id"))
	assert.False(t, e.noID[fromApp])
	manual := byAddress["aws_security_group.db (sgr-manual, in AWS only)"]
	require.NotNil(t, manual)
	assert.Equal(t, "aws_security_group.db", e.inline[manual], "goes with its group")
}

func TestParseAWSRulesRefusesAnotherFile(t *testing.T) {
	for _, data := range []string{`not json`, `{"Rules": []}`, `{"SecurityGroupRules": [{"SecurityGroupRuleId": "x", "GroupId": "sg-1"}]}`} {
		_, err := ParseAWSRules([]byte(data))
		assert.Error(t, err, data)
	}
}
