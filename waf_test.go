package main

import (
	"coldchain/internal/offline"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wafMetricName is AWS WAF's rule for a metric name (VisibilityConfig.MetricName): 1 to 128
// letters, digits, hyphens and underscores, and not a name WAF reserves.
var wafMetricName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

func TestTheFirewallRunsAWSManagedRulesThenARateLimitPerClient(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production", "wafMode=block")
	acl := p.One(t, webACLType, "waf")
	assert.Equal(t, "REGIONAL", acl.In("scope"), "a load balancer's web ACL is regional")
	assert.Equal(t, map[string]any{"allow": map[string]any{}}, acl.Obj("defaultAction"))

	rules := acl.List("rules")
	require.Len(t, rules, 5)
	for i, group := range []string{"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
		"AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet"} {
		rule := rules[i].(map[string]any)
		assert.Equal(t, float64(i), rule["priority"])
		statement := rule["statement"].(map[string]any)["managedRuleGroupStatement"].(map[string]any)
		assert.Equal(t, "AWS", statement["vendorName"])
		assert.Equal(t, group, statement["name"])
		assert.Equal(t, map[string]any{"none": map[string]any{}}, rule["overrideAction"], "%s blocks as AWS defines it", group)
		assert.NotContains(t, rule, "action", "a rule group takes an override action, not an action")
		if group == "AWSManagedRulesCommonRuleSet" {
			assert.Equal(t, []any{map[string]any{"name": "SizeRestrictions_BODY", "actionToUse": map[string]any{"count": map[string]any{}}}},
				statement["ruleActionOverrides"], "the API's longer bodies are counted, not blocked")
		} else {
			assert.Empty(t, statement["ruleActionOverrides"], group)
		}
	}
	rate := rules[4].(map[string]any)
	assert.Equal(t, float64(4), rate["priority"])
	assert.Equal(t, map[string]any{"block": map[string]any{}}, rate["action"])
	assert.Equal(t, map[string]any{"rateBasedStatement": map[string]any{
		"aggregateKeyType": "IP", "limit": float64(2000), "evaluationWindowSec": float64(300),
	}}, rate["statement"])

	// Every rule and the web ACL publish metrics under names WAF accepts, each its own.
	names := map[string]bool{}
	for _, r := range append(rules, map[string]any{"visibilityConfig": acl.Obj("visibilityConfig")}) {
		v := r.(map[string]any)["visibilityConfig"].(map[string]any)
		assert.Equal(t, true, v["cloudwatchMetricsEnabled"])
		assert.Equal(t, true, v["sampledRequestsEnabled"])
		name := v["metricName"].(string)
		assert.Regexp(t, wafMetricName, name)
		assert.NotContains(t, []string{"All", "Default_Action"}, name, "reserved by WAF")
		assert.False(t, names[name], "metric name %s used twice", name)
		names[name] = true
	}
}

func TestTheFirewallFitsTheWebACLCapacityOfItsBasePrice(t *testing.T) {
	t.Parallel()
	// AWS's documented WCUs: 25 + 700 + 200 + 200, and 2 for the rate rule; a web ACL's base
	// price covers 1,500.
	assert.Equal(t, 1127, firewallCapacity(0))
	assert.LessOrEqual(t, firewallCapacity(maxRateLimitPaths), 1500, "with every path prefix wafRateLimitPaths may give")
	assert.Len(t, managedRuleGroups, len(planOfFile(t, "production").One(t, webACLType, "waf").List("rules"))-1,
		"every group in the web ACL has its capacity counted")
}

func TestTheFirewallGuardsTheLoadBalancerAndLogsWithoutCredentials(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	acl := p.One(t, webACLType, "waf")
	assoc := p.One(t, aclAssocType, "waf")
	assert.Equal(t, p.One(t, albType, "alb").Outputs["arn"], assoc.Inputs["resourceArn"])
	assert.Equal(t, acl.Outputs["arn"], assoc.Inputs["webAclArn"])

	logs := p.One(t, logGroupType, "waf")
	assert.Equal(t, "aws-waf-logs-coldchain-production", logs.In("name"), "WAF writes only to aws-waf-logs-* log groups")
	assert.Equal(t, float64(30), logs.Num("retentionInDays"))
	logging := p.One(t, aclLoggingType, "waf")
	assert.Equal(t, acl.Outputs["arn"], logging.Inputs["resourceArn"])
	// The log group's ARN as WAF takes it: without the ":*" of DescribeLogGroups.
	assert.Equal(t, []any{logs.Outputs["arn"]}, logging.List("logDestinationConfigs"))
	assert.NotRegexp(t, `:\*$`, logs.Outputs["arn"])
	assert.ElementsMatch(t, []any{
		map[string]any{"singleHeader": map[string]any{"name": "authorization"}},
		map[string]any{"singleHeader": map[string]any{"name": "cookie"}},
	}, logging.List("redactedFields"))
	assert.Equal(t, "aws-waf-logs-coldchain-production", p.Outputs["logGroups"].(map[string]any)["waf"])
	assert.Equal(t, acl.In("name"), p.Outputs["webAclName"])
}

func TestBlockedRequestsAlarmOnTheWebACLsOwnMetric(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	alarm := p.One(t, alarmType, "waf-blocked")
	assert.Equal(t, "AWS/WAFV2", alarm.In("namespace"))
	assert.Equal(t, "BlockedRequests", alarm.In("metricName"))
	// WAF publishes a regional web ACL's metrics by WebACL, Region and Rule; ALL is the total.
	assert.Equal(t, map[string]any{"WebACL": p.One(t, webACLType, "waf").In("name"), "Region": "ap-northeast-2", "Rule": "ALL"},
		alarm.Obj("dimensions"))
	assert.Equal(t, "Sum", alarm.In("statistic"))
	assert.Equal(t, float64(300), alarm.Num("period"))
	assert.Equal(t, float64(100), alarm.Num("threshold"))
	assert.Equal(t, "notBreaching", alarm.In("treatMissingData"), "no request blocked publishes nothing")
	assert.Contains(t, p.One(t, "aws:cloudwatch/dashboard:Dashboard", "dashboard").In("dashboardBody"), `"Firewall requests"`)

	tuned := planOf(t, with(minimalConfig(), "waf=true", "wafRateLimit=500", "alarmWafBlockedPer5Minutes=20"))
	rate := tuned.One(t, webACLType, "waf").List("rules")[4].(map[string]any)["statement"].(map[string]any)["rateBasedStatement"].(map[string]any)
	assert.Equal(t, float64(500), rate["limit"])
	assert.Equal(t, float64(20), tuned.One(t, alarmType, "waf-blocked").Num("threshold"))
}

func TestWithoutWafThereIsNoFirewall(t *testing.T) {
	t.Parallel()
	for _, p := range []*offline.Plan{planOfFile(t, "staging"), planOf(t, minimalConfig())} {
		assert.Empty(t, p.All(webACLType))
		assert.Empty(t, p.All(aclAssocType))
		assert.Nil(t, p.Find(alarmType, "waf-blocked"))
		assert.NotContains(t, p.Outputs, "webAclName")
	}
}

// TestTheFirewallStartsByCounting: the first rollout counts what the rules match instead of
// blocking it (managed rules hit legitimate traffic: requests without a User-Agent, long query
// strings, binary uploads), and only wafMode=block blocks.
func TestTheFirewallStartsByCounting(t *testing.T) {
	t.Parallel()
	rules := planOfFile(t, "production").One(t, webACLType, "waf").List("rules")
	require.Len(t, rules, 5)
	for _, r := range rules[:4] {
		assert.Equal(t, map[string]any{"count": map[string]any{}}, r.(map[string]any)["overrideAction"], "every rule of the group counts")
	}
	assert.Equal(t, map[string]any{"count": map[string]any{}}, rules[4].(map[string]any)["action"], "the rate limit counts")
	assert.Contains(t, readmeSection(t, "## Configuration"), "`wafMode`")
}

// TestTheFirewallLogsOnlyWhatItBlockedOrCounted: the log is for tuning the rules, not a second
// access log of every request.
func TestTheFirewallLogsOnlyWhatItBlockedOrCounted(t *testing.T) {
	t.Parallel()
	filter := planOfFile(t, "production").One(t, aclLoggingType, "waf").Obj("loggingFilter")
	assert.Equal(t, "DROP", filter["defaultBehavior"])
	filters := filter["filters"].([]any)
	require.Len(t, filters, 1)
	keep := filters[0].(map[string]any)
	assert.Equal(t, "KEEP", keep["behavior"])
	assert.Equal(t, "MEETS_ANY", keep["requirement"])
	var actions []any
	for _, c := range keep["conditions"].([]any) {
		actions = append(actions, c.(map[string]any)["actionCondition"].(map[string]any)["action"])
	}
	assert.ElementsMatch(t, []any{"BLOCK", "COUNT", "EXCLUDED_AS_COUNT"}, actions)
}

// TestTheRateLimitCanBeScopedToPaths: depots behind one NAT address share a limit per IP;
// scoped to the paths worth limiting (logins), the rest of the API is not counted.
func TestTheRateLimitCanBeScopedToPaths(t *testing.T) {
	t.Parallel()
	rate := func(sets ...string) map[string]any {
		rules := planOf(t, with(minimalConfig(), append([]string{"waf=true"}, sets...)...)).One(t, webACLType, "waf").List("rules")
		return rules[4].(map[string]any)["statement"].(map[string]any)["rateBasedStatement"].(map[string]any)
	}
	assert.NotContains(t, rate(), "scopeDownStatement", "every request counts by default")
	startsWith := func(prefix string) map[string]any {
		return map[string]any{"byteMatchStatement": map[string]any{
			"fieldToMatch": map[string]any{"uriPath": map[string]any{}}, "positionalConstraint": "STARTS_WITH",
			"searchString": prefix, "textTransformations": []any{map[string]any{"priority": float64(0), "type": "NONE"}},
		}}
	}
	assert.Equal(t, startsWith("/api/auth/"), rate(`wafRateLimitPaths=["/api/auth/"]`)["scopeDownStatement"])
	assert.Equal(t, map[string]any{"orStatement": map[string]any{"statements": []any{startsWith("/api/auth/"), startsWith("/api/uploads/")}}},
		rate(`wafRateLimitPaths=["/api/auth/","/api/uploads/"]`)["scopeDownStatement"])
}
