package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	awsxec2 "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkArgs configures the network.
type NetworkArgs struct {
	// Env is the account, partition and region deployed into.
	Env awsEnv
	// Prefix names the VPC and the flow log group, "/aws/vpc/flow-logs/<prefix>".
	Prefix string
	// CidrBlock is the VPC's IPv4 range, /16 to /20; subnets.go lays the subnets out in it.
	CidrBlock string
	// AvailabilityZones are the two zones the subnets are spread over.
	AvailabilityZones []string
	// NatGateways is awsx's NAT gateway strategy: "OnePerAz" (default) or "Single".
	NatGateways string
	// BackendPort and FrontendPort are the container ports the ALB forwards to.
	BackendPort  int
	FrontendPort int
	// FlowLogRetentionDays is how long the VPC flow logs are kept.
	FlowLogRetentionDays int
}

// Network is the VPC, its subnets and the security group of every tier.
type Network struct {
	pulumi.ResourceState

	VpcID             pulumi.StringOutput
	PublicSubnetIDs   pulumi.StringArrayOutput
	PrivateSubnetIDs  pulumi.StringArrayOutput
	IsolatedSubnetIDs pulumi.StringArrayOutput

	AlbSecurityGroupID      pulumi.StringOutput
	BackendSecurityGroupID  pulumi.StringOutput
	FrontendSecurityGroupID pulumi.StringOutput
	DatabaseSecurityGroupID pulumi.StringOutput
	RedisSecurityGroupID    pulumi.StringOutput

	// FlowLogGroup is the log group of the VPC flow logs.
	FlowLogGroup pulumi.StringOutput
}

// availabilityZoneCount is how many zones the network spans: the first two of the region that
// need no opt-in.
const availabilityZoneCount = 2

// Ports of the data tier, fixed by the engines.
const (
	postgresPort = 5432
	redisPort    = 6379
)

// NewNetwork creates the VPC with public, private and isolated subnets in two AZs, a security
// group per tier with least-privilege rules, and VPC flow logs.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	if len(args.AvailabilityZones) != availabilityZoneCount {
		return nil, fmt.Errorf("network needs exactly %d availability zones, got %v", availabilityZoneCount, args.AvailabilityZones)
	}
	layout, err := newSubnetLayout(args.CidrBlock, len(args.AvailabilityZones))
	if err != nil {
		return nil, err
	}
	var specs []awsxec2.SubnetSpecArgs
	for _, tier := range subnetTiers {
		specs = append(specs, awsxec2.SubnetSpecArgs{
			Type:       awsxec2.SubnetType(tier.awsxType),
			Name:       pulumi.StringRef(tier.name),
			CidrMask:   pulumi.IntRef(layout.vpc.Bits() + tier.extraBits),
			CidrBlocks: layout.cidrBlocks(tier.name),
		})
	}
	n := &Network{}
	if err := ctx.RegisterComponentResource("coldchain:index:Network", name, n, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(n)

	v, err := awsxec2.NewVpc(ctx, "vpc", &awsxec2.VpcArgs{
		CidrBlock:             pulumi.StringRef(args.CidrBlock),
		AvailabilityZoneNames: args.AvailabilityZones,
		// Every subnet has explicit cidrBlocks (subnets.go), which awsx takes verbatim under
		// any strategy but Legacy; Auto is named so that awsx's default (Legacy) never applies.
		SubnetStrategy: ptr(awsxec2.SubnetAllocationStrategyAuto),
		SubnetSpecs:    specs,
		// awsx names the VPC and its internet gateway after the component ("vpc"); the prefix
		// tells the stacks' VPCs apart in the console. Subnets keep awsx's names.
		Tags: pulumi.StringMap{"Name": pulumi.String(args.Prefix)},
		NatGateways: &awsxec2.NatGatewayConfigurationArgs{
			Strategy: awsxec2.NatGatewayStrategy(args.NatGateways),
		},
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		// awsx is a remote component: it is handed the component's options (the explicit
		// provider) directly, because engines older than the providers-map inheritance for
		// remote components would otherwise build the VPC with the default provider, in the
		// wrong region and without the default tags.
	}, append([]pulumi.ResourceOption{child}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("creating VPC: %w", err)
	}
	n.VpcID = v.VpcId
	n.PublicSubnetIDs = v.PublicSubnetIds
	n.PrivateSubnetIDs = v.PrivateSubnetIds
	n.IsolatedSubnetIDs = v.IsolatedSubnetIds

	// Adopting the default security group with no rules removes the allow-all rules AWS gives
	// it, so nothing launched without an explicit group can talk (Security Hub EC2.2).
	if _, err := ec2.NewDefaultSecurityGroup(ctx, "default-sg", &ec2.DefaultSecurityGroupArgs{
		VpcId: v.VpcId,
	}, child); err != nil {
		return nil, fmt.Errorf("emptying the default security group: %w", err)
	}

	groups := map[string]*pulumi.StringOutput{
		"alb":      &n.AlbSecurityGroupID,
		"backend":  &n.BackendSecurityGroupID,
		"frontend": &n.FrontendSecurityGroupID,
		"database": &n.DatabaseSecurityGroupID,
		"redis":    &n.RedisSecurityGroupID,
	}
	for _, tier := range []string{"alb", "backend", "frontend", "database", "redis"} {
		sg, err := ec2.NewSecurityGroup(ctx, tier+"-sg", &ec2.SecurityGroupArgs{
			VpcId:       v.VpcId,
			Description: pulumi.String(securityGroupDescriptions[tier]),
			// No inline rules: every rule is its own resource below, and the provider removes
			// the allow-all egress rule AWS adds to a new group.
		}, child)
		if err != nil {
			return nil, fmt.Errorf("creating %s security group: %w", tier, err)
		}
		*groups[tier] = sg.ID().ToStringOutput()
	}

	for _, r := range securityRules(n, args) {
		if err := r.create(ctx, child); err != nil {
			return nil, err
		}
	}

	if n.FlowLogGroup, err = newFlowLogs(ctx, args, v.VpcId, child); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":             n.VpcID,
		"publicSubnetIds":   n.PublicSubnetIDs,
		"privateSubnetIds":  n.PrivateSubnetIDs,
		"isolatedSubnetIds": n.IsolatedSubnetIDs,
	}); err != nil {
		return nil, err
	}
	return n, nil
}

var securityGroupDescriptions = map[string]string{
	"alb":      "Application load balancer: HTTP and HTTPS from the internet",
	"backend":  "Backend tasks: the container port from the load balancer only",
	"frontend": "Frontend tasks: the container port from the load balancer only",
	"database": "PostgreSQL: 5432 from the backend tasks only",
	"redis":    "Redis: 6379 from the backend tasks only",
}

// securityRule is one ingress or egress rule. Each names its peer: a CIDR or another group.
type securityRule struct {
	name        string
	egress      bool
	group       pulumi.StringOutput
	port        int
	cidr        string
	peer        pulumi.StringOutput
	description string
}

// securityRules is the whole least-privilege rule set: the internet reaches only the ALB on
// 80 and 443; the ALB reaches only the two services on their container ports; only the backend
// reaches PostgreSQL and Redis; the tasks reach the internet on 443 only (ECR, Secrets Manager,
// CloudWatch Logs and S3 through the NAT gateways). The data tier needs no egress rule: security
// groups are stateful, so replies flow back.
func securityRules(n *Network, args *NetworkArgs) []securityRule {
	const anywhere = "0.0.0.0/0"
	return []securityRule{
		{name: "alb-http-in", group: n.AlbSecurityGroupID, port: 80, cidr: anywhere,
			description: "HTTP from the internet (redirected to HTTPS when a domain is set)"},
		{name: "alb-https-in", group: n.AlbSecurityGroupID, port: 443, cidr: anywhere,
			description: "HTTPS from the internet"},
		{name: "alb-to-backend", egress: true, group: n.AlbSecurityGroupID, port: args.BackendPort, peer: n.BackendSecurityGroupID,
			description: "Forward to the backend tasks"},
		{name: "alb-to-frontend", egress: true, group: n.AlbSecurityGroupID, port: args.FrontendPort, peer: n.FrontendSecurityGroupID,
			description: "Forward to the frontend tasks"},

		{name: "backend-from-alb", group: n.BackendSecurityGroupID, port: args.BackendPort, peer: n.AlbSecurityGroupID,
			description: "Backend container port from the load balancer"},
		{name: "backend-to-database", egress: true, group: n.BackendSecurityGroupID, port: postgresPort, peer: n.DatabaseSecurityGroupID,
			description: "PostgreSQL"},
		{name: "backend-to-redis", egress: true, group: n.BackendSecurityGroupID, port: redisPort, peer: n.RedisSecurityGroupID,
			description: "Redis"},
		{name: "backend-https-out", egress: true, group: n.BackendSecurityGroupID, port: 443, cidr: anywhere,
			description: "HTTPS to AWS APIs (ECR, Secrets Manager, S3, CloudWatch) and external services"},

		{name: "frontend-from-alb", group: n.FrontendSecurityGroupID, port: args.FrontendPort, peer: n.AlbSecurityGroupID,
			description: "Frontend container port from the load balancer"},
		{name: "frontend-https-out", egress: true, group: n.FrontendSecurityGroupID, port: 443, cidr: anywhere,
			description: "HTTPS to AWS APIs (ECR, CloudWatch Logs)"},

		{name: "database-from-backend", group: n.DatabaseSecurityGroupID, port: postgresPort, peer: n.BackendSecurityGroupID,
			description: "PostgreSQL from the backend tasks"},
		{name: "redis-from-backend", group: n.RedisSecurityGroupID, port: redisPort, peer: n.BackendSecurityGroupID,
			description: "Redis from the backend tasks"},
	}
}

func (r securityRule) create(ctx *pulumi.Context, opts ...pulumi.ResourceOption) error {
	var cidr, peer pulumi.StringPtrInput
	if r.cidr != "" {
		cidr = pulumi.String(r.cidr)
	} else {
		peer = r.peer
	}
	var err error
	if r.egress {
		_, err = vpc.NewSecurityGroupEgressRule(ctx, r.name, &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId: r.group, IpProtocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port),
			CidrIpv4: cidr, ReferencedSecurityGroupId: peer, Description: pulumi.String(r.description),
		}, opts...)
	} else {
		_, err = vpc.NewSecurityGroupIngressRule(ctx, r.name, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: r.group, IpProtocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port),
			CidrIpv4: cidr, ReferencedSecurityGroupId: peer, Description: pulumi.String(r.description),
		}, opts...)
	}
	if err != nil {
		return fmt.Errorf("creating security group rule %s: %w", r.name, err)
	}
	return nil
}

// newFlowLogs records all traffic of the VPC to CloudWatch Logs (Security Hub EC2.6).
func newFlowLogs(ctx *pulumi.Context, args *NetworkArgs, vpcID pulumi.StringInput, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	group, err := cloudwatch.NewLogGroup(ctx, "flow-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/aws/vpc/flow-logs/" + args.Prefix),
		RetentionInDays: pulumi.Int(args.FlowLogRetentionDays),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("creating flow log group: %w", err)
	}
	// What the VPC Flow Logs guide gives the delivery role, scoped to this log group, except
	// logs:CreateLogGroup: the group exists, with its retention, and must not be re-created
	// without one if somebody deletes it.
	role, err := newServiceRole(ctx, args.Env, "flow-logs", "Lets VPC Flow Logs write to /aws/vpc/flow-logs/"+args.Prefix,
		"vpc-flow-logs.amazonaws.com", args.Env.arn("ec2", args.Env.Region, "vpc-flow-log/*"), []statement{
			{
				Sid:       "FindFlowLogGroup",
				Actions:   []string{"logs:DescribeLogGroups"},
				Resources: []pulumi.StringInput{pulumi.String(args.Env.arn("logs", args.Env.Region, "log-group:*"))},
			},
			{
				Sid:       "WriteFlowLogs",
				Actions:   []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
				Resources: []pulumi.StringInput{group.Arn, pulumi.Sprintf("%s:log-stream:*", group.Arn)},
			},
		}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if _, err := ec2.NewFlowLog(ctx, "flow-logs", &ec2.FlowLogArgs{
		VpcId:              vpcID,
		TrafficType:        pulumi.String("ALL"),
		LogDestinationType: pulumi.String("cloud-watch-logs"),
		LogDestination:     group.Arn,
		IamRoleArn:         role.role.Arn,
		// The flow log names the role, not its policy: created first, it would fail to deliver
		// (and report DeliverLogsPermissionError) until the policy exists.
	}, append(opts, pulumi.DependsOn(role.after()))...); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("creating flow log: %w", err)
	}
	return group.Name, nil
}
