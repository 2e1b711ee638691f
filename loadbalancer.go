package main

import (
	"coldchain/internal/limits"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// firstRulePriority is the priority of the rule that routes the first service's paths (the
// backend's); each next service's rule takes the next number. Priorities follow the services'
// fixed order, so that a change of one rule never reorders (and briefly misroutes) the others.
const firstRulePriority = 100

// defaultRoute is the name of the service that gets every request no rule claims.
func defaultRoute(services []ServiceConfig) string {
	for _, svc := range services {
		if svc.DefaultRoute {
			return svc.Name
		}
	}
	return ""
}

// routed are the services behind the load balancer: all but the workers.
func routed(services []ServiceConfig) []ServiceConfig {
	return slices.DeleteFunc(slices.Clone(services), func(s ServiceConfig) bool { return s.Worker })
}

// The target groups' health checks: a new task is healthy after healthyThreshold checks,
// healthCheckIntervalSeconds apart.
const (
	healthCheckIntervalSeconds = 15
	healthyThreshold           = 2
)

// frontDoor is what the services and the alarms need of the load balancer.
type frontDoor struct {
	arn       pulumi.StringOutput
	arnSuffix pulumi.StringOutput
	dnsName   pulumi.StringOutput
	url       pulumi.StringOutput
	// targetGroups are by service name.
	targetGroups map[string]*lb.TargetGroup
	// routing is what a service must wait for: the listeners and rules that send it traffic.
	routing []pulumi.Resource
}

// frontDoorArgs places the load balancer and says what it routes.
type frontDoorArgs struct {
	// Routing is its TLS, domain and draining; Services are what it routes to, by path.
	Routing  RoutingConfig
	Services []ServiceConfig

	VpcID              pulumi.StringInput
	PublicSubnetIDs    pulumi.StringArrayInput
	AlbSecurityGroupID pulumi.StringInput
	// LogsBucketName receives its access logs.
	LogsBucketName pulumi.StringInput
}

// newFrontDoor creates the internet-facing load balancer, its target groups, listeners and
// routing, and with a domain the certificate and the DNS records.
func newFrontDoor(ctx *pulumi.Context, args frontDoorArgs, component pulumi.Resource) (*frontDoor, error) {
	c := args.Routing
	parent := pulumi.Parent(component)
	alb, err := lb.NewLoadBalancer(ctx, "alb", &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		Subnets:                  args.PublicSubnetIDs,
		SecurityGroups:           pulumi.StringArray{args.AlbSecurityGroupID},
		DropInvalidHeaderFields:  pulumi.Bool(true),
		EnableDeletionProtection: pulumi.Bool(c.AlbDeletionProtection),
		AccessLogs: &lb.LoadBalancerAccessLogsArgs{
			// The logs bucket's name resolves once its policy lets the load balancer write.
			Bucket:  args.LogsBucketName,
			Prefix:  pulumi.String(albLogPrefix),
			Enabled: pulumi.Bool(true),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating load balancer: %w", err)
	}
	f := &frontDoor{arn: alb.Arn, arnSuffix: alb.ArnSuffix, dnsName: alb.DnsName, targetGroups: map[string]*lb.TargetGroup{}}

	for _, svc := range routed(args.Services) {
		tg, err := lb.NewTargetGroup(ctx, svc.Name, &lb.TargetGroupArgs{
			// Fargate tasks in awsvpc mode register by IP address.
			TargetType:          pulumi.String("ip"),
			Port:                pulumi.Int(svc.Port),
			Protocol:            pulumi.String("HTTP"),
			VpcId:               args.VpcID,
			DeregistrationDelay: pulumi.Int(c.DeregistrationDelaySeconds),
			HealthCheck: &lb.TargetGroupHealthCheckArgs{
				Path:               pulumi.String(svc.HealthCheckPath),
				Protocol:           pulumi.String("HTTP"),
				Matcher:            pulumi.String("200-399"),
				Interval:           pulumi.Int(healthCheckIntervalSeconds),
				Timeout:            pulumi.Int(5),
				HealthyThreshold:   pulumi.Int(healthyThreshold),
				UnhealthyThreshold: pulumi.Int(3),
			},
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("creating %s target group: %w", svc.Name, err)
		}
		f.targetGroups[svc.Name] = tg
	}

	var zoneID string
	if c.DomainName != "" {
		if zoneID, err = hostedZoneID(ctx, c, parent); err != nil {
			return nil, err
		}
	}
	forwardDefault := lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
		Type: pulumi.String("forward"), TargetGroupArn: f.targetGroups[defaultRoute(args.Services)].Arn,
	}}
	var entry *lb.Listener // the listener the routing rules hang on
	if c.HTTPS() {
		certificate, err := newCertificate(ctx, c, zoneID, parent)
		if err != nil {
			return nil, err
		}
		entry, err = lb.NewListener(ctx, "https", &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(443),
			Protocol:        pulumi.String("HTTPS"),
			SslPolicy:       pulumi.String(limits.TLSPolicy),
			CertificateArn:  certificate,
			DefaultActions:  forwardDefault,
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("creating HTTPS listener: %w", err)
		}
		redirect, err := lb.NewListener(ctx, "http", &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(80),
			Protocol:        pulumi.String("HTTP"),
			DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
				Type: pulumi.String("redirect"),
				Redirect: &lb.ListenerDefaultActionRedirectArgs{
					Protocol: pulumi.String("HTTPS"), Port: pulumi.String("443"), StatusCode: pulumi.String("HTTP_301"),
				},
			}},
			// When a domain is added to a running stack, this listener turns from forwarding into
			// redirecting; it must wait for the HTTPS listener, which waits for the certificate to
			// be issued (minutes), or every request would be redirected to a port nobody serves.
		}, parent, pulumi.DependsOn([]pulumi.Resource{entry}))
		if err != nil {
			return nil, fmt.Errorf("creating HTTP redirect listener: %w", err)
		}
		f.routing = append(f.routing, entry, redirect)
	} else {
		entry, err = lb.NewListener(ctx, "http", &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(80),
			Protocol:        pulumi.String("HTTP"),
			DefaultActions:  forwardDefault,
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("creating HTTP listener: %w", err)
		}
		f.routing = append(f.routing, entry)
	}

	priority := firstRulePriority
	for _, svc := range routed(args.Services) {
		if svc.DefaultRoute {
			continue
		}
		rule, err := lb.NewListenerRule(ctx, svc.Name, &lb.ListenerRuleArgs{
			ListenerArn: entry.Arn,
			Priority:    pulumi.Int(priority),
			Conditions: lb.ListenerRuleConditionArray{&lb.ListenerRuleConditionArgs{
				PathPattern: &lb.ListenerRuleConditionPathPatternArgs{Values: pulumi.ToStringArray(svc.PathPatterns)},
			}},
			Actions: lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{
				Type: pulumi.String("forward"), TargetGroupArn: f.targetGroups[svc.Name].Arn,
			}},
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("creating %s routing rule: %w", svc.Name, err)
		}
		f.routing = append(f.routing, rule)
		priority++
	}

	switch {
	case c.DomainName != "":
		if _, err := route53.NewRecord(ctx, "alias", &route53.RecordArgs{
			ZoneId: pulumi.String(zoneID),
			Name:   pulumi.String(c.DomainName),
			Type:   pulumi.String("A"),
			// A DR stack takes over the name of the stack it replaces; otherwise a record
			// that exists is not this stack's to change, and the create fails.
			AllowOverwrite: pulumi.Bool(c.TakeOverDomain),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name: alb.DnsName, ZoneId: alb.ZoneId, EvaluateTargetHealth: pulumi.Bool(true),
			}},
		}, parent); err != nil {
			return nil, fmt.Errorf("creating the domain's alias record: %w", err)
		}
		f.url = pulumi.Sprintf("https://%s", c.DomainName)
	case c.HTTPS():
		f.url = pulumi.Sprintf("https://%s", alb.DnsName)
	default:
		f.url = pulumi.Sprintf("http://%s", alb.DnsName)
	}
	return f, nil
}

// newCertificate returns the ARN of the listener's certificate: the team's own, or an ACM
// certificate for the domain validated through DNS records in its Route 53 zone. The ARN
// resolves only once the certificate is issued, so the listener waits for it.
func newCertificate(ctx *pulumi.Context, c RoutingConfig, zoneID string, parent pulumi.ResourceOrInvokeOption) (pulumi.StringInput, error) {
	if c.CertificateArn != "" {
		return pulumi.String(c.CertificateArn), nil
	}
	cert, err := acm.NewCertificate(ctx, "certificate", &acm.CertificateArgs{
		DomainName:       pulumi.String(c.DomainName),
		ValidationMethod: pulumi.String("DNS"),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating certificate for %s: %w", c.DomainName, err)
	}
	option := cert.DomainValidationOptions.Index(pulumi.Int(0))
	record, err := route53.NewRecord(ctx, "certificate-validation", &route53.RecordArgs{
		ZoneId:  pulumi.String(zoneID),
		Name:    option.ResourceRecordName().Elem(),
		Type:    option.ResourceRecordType().Elem(),
		Records: pulumi.StringArray{option.ResourceRecordValue().Elem()},
		Ttl:     pulumi.Int(60),
		// The record ACM asks for is the same for every certificate of the domain, so a
		// replaced certificate (or another stack of the domain) may have written it already.
		AllowOverwrite: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating certificate validation record: %w", err)
	}
	validation, err := acm.NewCertificateValidation(ctx, "certificate", &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: pulumi.StringArray{record.Fqdn},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("validating certificate: %w", err)
	}
	return validation.CertificateArn, nil
}

// hostedZoneID is hostedZoneId, or the id of the public zone found by name.
func hostedZoneID(ctx *pulumi.Context, c RoutingConfig, parent pulumi.ResourceOrInvokeOption) (string, error) {
	if c.HostedZoneID != "" {
		return c.HostedZoneID, nil
	}
	name := c.ZoneName()
	zone, err := route53.LookupZone(ctx, &route53.LookupZoneArgs{Name: pulumi.StringRef(name), PrivateZone: pulumi.BoolRef(false)}, parent)
	if err != nil {
		return "", fmt.Errorf("finding the Route 53 zone %s of domainName %s (set hostedZoneId or hostedZoneName if it is another): %w",
			name, c.DomainName, err)
	}
	return zone.ZoneId, nil
}
