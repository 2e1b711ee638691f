package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// FirewallArgs configures the web application firewall in front of the load balancer.
type FirewallArgs struct {
	Prefix string
	// LoadBalancerArn is the load balancer the web ACL guards.
	LoadBalancerArn pulumi.StringInput
	// RateLimit is how many requests one client IP may send in rateWindowSeconds before the
	// next ones are blocked; RateLimitPaths, when set, the path prefixes it counts.
	RateLimit      int
	RateLimitPaths []string
	// Mode is wafCount (the rules count what they match) or wafBlock.
	Mode string
	// LogRetentionDays keeps the firewall's logs.
	LogRetentionDays int
	// LogPolicy is the account's log policy that lets WAF deliver to the log group, when this
	// stack owns it (accountsettings.go); nil when another stack of the account does.
	LogPolicy pulumi.Resource
}

// Firewall is the web ACL on the load balancer, and where it logs.
type Firewall struct {
	pulumi.ResourceState

	// WebACLName is the WebACL dimension of its metrics.
	WebACLName   pulumi.StringOutput
	LogGroupName pulumi.StringOutput
}

// rateWindowSeconds is the window the rate-based rule counts a client's requests over: AWS
// WAF's default, and the period of the blocked-requests alarm.
const rateWindowSeconds = 300

// managedRuleGroup is one of AWS's managed rule groups, and the capacity (WCU) AWS documents
// for it: a web ACL's rules together may use 1,500 WCUs at the base price.
type managedRuleGroup struct {
	name string
	wcu  int
	// count are rules of the group that only count what they match: the rule name and why.
	count map[string]string
}

// managedRuleGroups are evaluated in this order, cheapest verdict first: requests from
// addresses AWS knows as malicious are blocked before any rule inspects them.
var managedRuleGroups = []managedRuleGroup{
	{name: "AWSManagedRulesAmazonIpReputationList", wcu: 25},
	{name: "AWSManagedRulesCommonRuleSet", wcu: 700, count: map[string]string{
		// An application load balancer lets WAF inspect the first 8 KB of a body, and this
		// rule blocks every longer one: the dispatch API's requests (and its uploads) may be
		// longer. The other rules still inspect the first 8 KB.
		"SizeRestrictions_BODY": "bodies over 8 KB are legitimate here",
	}},
	{name: "AWSManagedRulesKnownBadInputsRuleSet", wcu: 200},
	{name: "AWSManagedRulesSQLiRuleSet", wcu: 200},
}

// rateRuleWCU is the capacity of a rate-based rule without a scope-down statement;
// pathPrefixWCU that of each "starts with" string match of its scope-down statement, without
// text transformation (AWS WAF's documented WCUs).
const (
	rateRuleWCU   = 2
	pathPrefixWCU = 2
)

// NewFirewall creates the web ACL (AWS's managed rule groups, then a rate limit per client
// IP), associates it with the load balancer, and sends its logs to a log group.
func NewFirewall(ctx *pulumi.Context, name string, args *FirewallArgs, opts ...pulumi.ResourceOption) (*Firewall, error) {
	f := &Firewall{}
	if err := ctx.RegisterComponentResource("coldchain:index:Firewall", name, f, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(f)

	visibility := func(metric string) *wafv2.WebAclRuleVisibilityConfigArgs {
		return &wafv2.WebAclRuleVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true),
			MetricName:               pulumi.String(metric),
			SampledRequestsEnabled:   pulumi.Bool(true),
		}
	}
	var rules wafv2.WebAclRuleArray
	for i, group := range managedRuleGroups {
		var overrides wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArray
		for _, rule := range sortedKeys(group.count) {
			overrides = append(overrides, &wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs{
				Name: pulumi.String(rule),
				ActionToUse: &wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs{
					Count: &wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs{},
				},
			})
		}
		// Blocking, the group's own actions apply (block, mostly); counting, every rule of the
		// group only counts.
		override := &wafv2.WebAclRuleOverrideActionArgs{None: &wafv2.WebAclRuleOverrideActionNoneArgs{}}
		if args.Mode == wafCount {
			override = &wafv2.WebAclRuleOverrideActionArgs{Count: &wafv2.WebAclRuleOverrideActionCountArgs{}}
		}
		rules = append(rules, &wafv2.WebAclRuleArgs{
			Name:           pulumi.String(group.name),
			Priority:       pulumi.Int(i),
			OverrideAction: override,
			Statement: &wafv2.WebAclRuleStatementArgs{
				ManagedRuleGroupStatement: &wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
					VendorName:          pulumi.String("AWS"),
					Name:                pulumi.String(group.name),
					RuleActionOverrides: overrides,
				},
			},
			VisibilityConfig: visibility(group.name),
		})
	}
	action := &wafv2.WebAclRuleActionArgs{Block: &wafv2.WebAclRuleActionBlockArgs{}}
	if args.Mode == wafCount {
		action = &wafv2.WebAclRuleActionArgs{Count: &wafv2.WebAclRuleActionCountArgs{}}
	}
	rules = append(rules, &wafv2.WebAclRuleArgs{
		Name:     pulumi.String("rate-limit-per-ip"),
		Priority: pulumi.Int(len(managedRuleGroups)),
		Action:   action,
		Statement: &wafv2.WebAclRuleStatementArgs{
			RateBasedStatement: &wafv2.WebAclRuleStatementRateBasedStatementArgs{
				// The client's address as the load balancer sees it: a header such as
				// X-Forwarded-For is the client's to forge.
				AggregateKeyType:    pulumi.String("IP"),
				Limit:               pulumi.Int(args.RateLimit),
				EvaluationWindowSec: pulumi.Int(rateWindowSeconds),
				ScopeDownStatement:  pathsScope(args.RateLimitPaths),
			},
		},
		VisibilityConfig: visibility("rate-limit-per-ip"),
	})
	acl, err := wafv2.NewWebAcl(ctx, "waf", &wafv2.WebAclArgs{
		Name:          pulumi.String(args.Prefix),
		Description:   pulumi.String("Guards the load balancer of " + args.Prefix),
		Scope:         pulumi.String("REGIONAL"),
		DefaultAction: &wafv2.WebAclDefaultActionArgs{Allow: &wafv2.WebAclDefaultActionAllowArgs{}},
		Rules:         rules,
		VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true),
			MetricName:               pulumi.String(args.Prefix),
			SampledRequestsEnabled:   pulumi.Bool(true),
		},
	}, child)
	if err != nil {
		return nil, fmt.Errorf("creating web ACL: %w", err)
	}
	f.WebACLName = acl.Name

	if _, err := wafv2.NewWebAclAssociation(ctx, "waf", &wafv2.WebAclAssociationArgs{
		ResourceArn: args.LoadBalancerArn,
		WebAclArn:   acl.Arn,
	}, child, oncePerParent); err != nil {
		return nil, fmt.Errorf("associating the web ACL with the load balancer: %w", err)
	}

	// AWS WAF writes only to log groups whose name starts with aws-waf-logs-.
	logs, err := cloudwatch.NewLogGroup(ctx, "waf", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("aws-waf-logs-" + args.Prefix),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("creating the web ACL's log group: %w", err)
	}
	f.LogGroupName = logs.Name
	var redacted wafv2.WebAclLoggingConfigurationRedactedFieldArray
	// Credentials and sessions stay out of the logs.
	for _, header := range []string{"authorization", "cookie"} {
		redacted = append(redacted, &wafv2.WebAclLoggingConfigurationRedactedFieldArgs{
			SingleHeader: &wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs{Name: pulumi.String(header)},
		})
	}
	// Only what a rule blocked or counted is logged: the requests to tune the rules by, not
	// every request the load balancer serves (its access logs have those).
	var kept wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArray
	for _, action := range loggedActions {
		kept = append(kept, &wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArgs{
			ActionCondition: &wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionActionConditionArgs{Action: pulumi.String(action)},
		})
	}
	if _, err := wafv2.NewWebAclLoggingConfiguration(ctx, "waf", &wafv2.WebAclLoggingConfigurationArgs{
		ResourceArn:           acl.Arn,
		LogDestinationConfigs: pulumi.StringArray{logs.Arn},
		RedactedFields:        redacted,
		LoggingFilter: &wafv2.WebAclLoggingConfigurationLoggingFilterArgs{
			DefaultBehavior: pulumi.String("DROP"),
			Filters: wafv2.WebAclLoggingConfigurationLoggingFilterFilterArray{&wafv2.WebAclLoggingConfigurationLoggingFilterFilterArgs{
				Behavior: pulumi.String("KEEP"), Requirement: pulumi.String("MEETS_ANY"), Conditions: kept,
			}},
		},
		// With the account's log policy in place WAF finds its access granted, and edits no
		// policy of its own.
	}, child, oncePerParent, pulumi.DependsOn(optionalResources(args.LogPolicy))); err != nil {
		return nil, fmt.Errorf("sending the web ACL's logs to %s: %w", "aws-waf-logs-"+args.Prefix, err)
	}
	return f, ctx.RegisterResourceOutputs(f, pulumi.Map{"webAclName": f.WebACLName, "logGroupName": f.LogGroupName})
}

// optionalResources is a list of the resource, empty for nil.
func optionalResources(r pulumi.Resource) []pulumi.Resource {
	if r == nil {
		return nil
	}
	return []pulumi.Resource{r}
}

// loggedActions are the verdicts the firewall's log keeps: blocked, and counted (a rule that
// counts, and a rule whose action an override turned into a count, which WAF logs as
// EXCLUDED_AS_COUNT).
var loggedActions = []string{"BLOCK", "COUNT", "EXCLUDED_AS_COUNT"}

// pathsScope narrows the rate limit to requests whose path starts with one of the prefixes; nil
// for every request.
func pathsScope(prefixes []string) *wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs {
	match := func(prefix string) *wafv2.WebAclRuleStatementByteMatchStatementArgs {
		return &wafv2.WebAclRuleStatementByteMatchStatementArgs{
			FieldToMatch:         &wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchArgs{UriPath: &wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchUriPathArgs{}},
			PositionalConstraint: pulumi.String("STARTS_WITH"),
			SearchString:         pulumi.String(prefix),
			TextTransformations: wafv2.WebAclRuleStatementByteMatchStatementTextTransformationArray{
				&wafv2.WebAclRuleStatementByteMatchStatementTextTransformationArgs{Priority: pulumi.Int(0), Type: pulumi.String("NONE")},
			},
		}
	}
	switch len(prefixes) {
	case 0:
		return nil
	case 1:
		m := match(prefixes[0])
		return &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs{
			ByteMatchStatement: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementArgs{
				FieldToMatch: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchArgs{
					UriPath: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchUriPathArgs{},
				},
				PositionalConstraint: m.PositionalConstraint,
				SearchString:         m.SearchString,
				TextTransformations: wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementTextTransformationArray{
					&wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementTextTransformationArgs{
						Priority: pulumi.Int(0), Type: pulumi.String("NONE"),
					},
				},
			},
		}
	}
	var statements wafv2.WebAclRuleStatementArray
	for _, p := range prefixes {
		statements = append(statements, &wafv2.WebAclRuleStatementArgs{ByteMatchStatement: match(p)})
	}
	return &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs{
		OrStatement: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementOrStatementArgs{Statements: statements},
	}
}

// firewallCapacity is the WCUs the web ACL's rules use, as AWS documents them, with a rate limit
// scoped to a number of path prefixes.
func firewallCapacity(rateLimitPaths int) int {
	total := rateRuleWCU + pathPrefixWCU*rateLimitPaths
	for _, g := range managedRuleGroups {
		total += g.wcu
	}
	return total
}
