package main

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	awsxec2 "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkArgs configures the network.
type NetworkArgs struct {
	// Account is the account, partition and region deployed into.
	Account awsAccount
	// Prefix names the VPC and the flow log group, "/aws/vpc/flow-logs/<prefix>".
	Prefix string
	// CidrBlock is the VPC's IPv4 range, /16 to /20; subnets.go lays the subnets out in it.
	CidrBlock string
	// SubnetCidrs, when not nil, are the subnets of each tier instead of the computed layout.
	SubnetCidrs map[string][]string
	// S3GatewayEndpoint routes the private subnets' traffic to S3 (image layers from ECR, the
	// buckets) through a gateway endpoint instead of the NAT gateways.
	S3GatewayEndpoint bool
	// AvailabilityZones are the two zones the subnets are spread over.
	AvailabilityZones []string
	// NatGateways is awsx's NAT gateway strategy: "OnePerAz" (default) or "Single".
	NatGateways string
	// Services are the services behind the load balancer, each with its own security group.
	Services []NetworkService
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
	DatabaseSecurityGroupID pulumi.StringOutput
	RedisSecurityGroupID    pulumi.StringOutput
	// ServiceSecurityGroupIDs are the services' security groups, by service.
	ServiceSecurityGroupIDs map[string]pulumi.StringOutput

	// FlowLogGroup is the log group of the VPC flow logs.
	FlowLogGroup pulumi.StringOutput
}

// NetworkService is what the network needs of a service: the container port the load balancer
// reaches (0 for a worker, which takes no traffic), and whether it reaches the data tier.
type NetworkService struct {
	Name     string
	Port     int
	DataTier bool
}

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
	layout, err := newSubnetLayout(args.CidrBlock, len(args.AvailabilityZones), args.SubnetCidrs)
	if err != nil {
		return nil, err
	}
	var specs []awsxec2.SubnetSpecArgs
	for _, tier := range subnetTiers {
		specs = append(specs, awsxec2.SubnetSpecArgs{
			Type:       awsxec2.SubnetType(tier.awsxType),
			Name:       pulumi.StringRef(tier.name),
			CidrMask:   layout.cidrMask(tier.name),
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

	if args.S3GatewayEndpoint {
		if err := newS3GatewayEndpoint(ctx, args, v, n); err != nil {
			return nil, err
		}
	}

	// Adopting the default security group with no rules removes the allow-all rules AWS gives
	// it, so nothing launched without an explicit group can talk (Security Hub EC2.2).
	if _, err := ec2.NewDefaultSecurityGroup(ctx, "default-sg", &ec2.DefaultSecurityGroupArgs{
		VpcId: v.VpcId,
	}, child, oncePerParent); err != nil {
		return nil, fmt.Errorf("emptying the default security group: %w", err)
	}

	n.ServiceSecurityGroupIDs = map[string]pulumi.StringOutput{}
	for _, group := range securityGroups(args.Services) {
		sg, err := ec2.NewSecurityGroup(ctx, group.tier+"-sg", &ec2.SecurityGroupArgs{
			VpcId:       v.VpcId,
			Description: pulumi.String(group.description),
			// No inline rules: every rule is its own resource below, and the provider removes
			// the allow-all egress rule AWS adds to a new group.
		}, child,
			// A group's description is documentation, but a change of it replaces the group and
			// everything that uses it: a reworded description (or the one of a group adopted
			// from Terraform) is left as it is.
			pulumi.IgnoreChanges([]string{"description"}))
		if err != nil {
			return nil, fmt.Errorf("creating %s security group: %w", group.tier, err)
		}
		id := sg.ID().ToStringOutput()
		switch group.tier {
		case "alb":
			n.AlbSecurityGroupID = id
		case "database":
			n.DatabaseSecurityGroupID = id
		case "redis":
			n.RedisSecurityGroupID = id
		default:
			n.ServiceSecurityGroupIDs[group.tier] = id
		}
	}

	for _, r := range securityRules(n, args) {
		if err := r.create(ctx, child); err != nil {
			return nil, err
		}
	}

	if n.FlowLogGroup, err = newFlowLogs(ctx, args, v.VpcId, child); err != nil {
		return nil, err
	}

	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{"vpcId": n.VpcID,
		"publicSubnetIds": n.PublicSubnetIDs, "privateSubnetIds": n.PrivateSubnetIDs, "isolatedSubnetIds": n.IsolatedSubnetIDs})
}

// securityGroup is one tier's security group: the load balancer, each service, the database,
// the cache.
type securityGroup struct{ tier, description string }

func securityGroups(services []NetworkService) []securityGroup {
	groups := []securityGroup{{"alb", "Application load balancer: HTTP and HTTPS from the internet"}}
	for _, svc := range services {
		if svc.Port == 0 {
			groups = append(groups, securityGroup{svc.Name, title(svc.Name) + " tasks: no inbound traffic"})
			continue
		}
		groups = append(groups, securityGroup{svc.Name, title(svc.Name) + " tasks: the container port from the load balancer only"})
	}
	clients := strings.Join(dataTierServices(services), " and ")
	return append(groups,
		securityGroup{"database", fmt.Sprintf("PostgreSQL: %d from the %s tasks only", postgresPort, clients)},
		securityGroup{"redis", fmt.Sprintf("Redis: %d from the %s tasks only", redisPort, clients)})
}

// dataTierServices are the names of the services that reach the database and the cache.
func dataTierServices(services []NetworkService) []string {
	var names []string
	for _, svc := range services {
		if svc.DataTier {
			names = append(names, svc.Name)
		}
	}
	return names
}

// title is a name with its first letter in upper case, for descriptions.
func title(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
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
// 80 and 443; the ALB reaches only the services on their container ports; only the data-tier
// services (the backend) reach PostgreSQL and Redis; the tasks reach the internet on 443 only
// (ECR, Secrets Manager, CloudWatch Logs and S3 through the NAT gateways). The data tier needs
// no egress rule: security groups are stateful, so replies flow back.
func securityRules(n *Network, args *NetworkArgs) []securityRule {
	const anywhere = "0.0.0.0/0"
	rules := []securityRule{
		{name: "alb-http-in", group: n.AlbSecurityGroupID, port: 80, cidr: anywhere,
			description: "HTTP from the internet (redirected to HTTPS when a domain is set)"},
		{name: "alb-https-in", group: n.AlbSecurityGroupID, port: 443, cidr: anywhere,
			description: "HTTPS from the internet"},
	}
	for _, svc := range args.Services {
		group := n.ServiceSecurityGroupIDs[svc.Name]
		https := securityRule{name: svc.Name + "-https-out", egress: true, group: group, port: 443, cidr: anywhere,
			description: "HTTPS to AWS APIs (ECR, CloudWatch Logs)"}
		if svc.Port != 0 {
			rules = append(rules,
				securityRule{name: "alb-to-" + svc.Name, egress: true, group: n.AlbSecurityGroupID, port: svc.Port, peer: group,
					description: "Forward to the " + svc.Name + " tasks"},
				securityRule{name: svc.Name + "-from-alb", group: group, port: svc.Port, peer: n.AlbSecurityGroupID,
					description: title(svc.Name) + " container port from the load balancer"})
		}
		if svc.DataTier {
			https.description = "HTTPS to AWS APIs (ECR, Secrets Manager, S3, CloudWatch) and external services"
			rules = append(rules,
				securityRule{name: svc.Name + "-to-database", egress: true, group: group, port: postgresPort, peer: n.DatabaseSecurityGroupID,
					description: "PostgreSQL"},
				securityRule{name: svc.Name + "-to-redis", egress: true, group: group, port: redisPort, peer: n.RedisSecurityGroupID,
					description: "Redis"},
				securityRule{name: "database-from-" + svc.Name, group: n.DatabaseSecurityGroupID, port: postgresPort, peer: group,
					description: "PostgreSQL from the " + svc.Name + " tasks"},
				securityRule{name: "redis-from-" + svc.Name, group: n.RedisSecurityGroupID, port: redisPort, peer: group,
					description: "Redis from the " + svc.Name + " tasks"})
		}
		rules = append(rules, https)
	}
	return rules
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
	role, err := newServiceRole(ctx, args.Account, "flow-logs", "Lets VPC Flow Logs write to /aws/vpc/flow-logs/"+args.Prefix,
		"vpc-flow-logs.amazonaws.com", args.Account.arn("ec2", args.Account.Region, "vpc-flow-log/*"), []statement{
			{
				Sid:       "FindFlowLogGroup",
				Actions:   []string{"logs:DescribeLogGroups"},
				Resources: []pulumi.StringInput{pulumi.String(args.Account.arn("logs", args.Account.Region, "log-group:*"))},
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

// newS3GatewayEndpoint creates the S3 gateway endpoint of the private subnets. A gateway
// endpoint is free, and S3 traffic through it skips the NAT gateways, which charge for every
// gigabyte: the image layers ECR serves come from S3, so every task start is such traffic.
// awsx creates the subnets' route tables inside its component; each private subnet's is found
// by the subnet, once the component's outputs (and so all its children) exist.
func newS3GatewayEndpoint(ctx *pulumi.Context, args *NetworkArgs, v *awsxec2.Vpc, n *Network) error {
	child := pulumi.Parent(n)
	var tables pulumi.StringArray
	for i := range args.AvailabilityZones {
		table := ec2.LookupRouteTableOutput(ctx, ec2.LookupRouteTableOutputArgs{
			SubnetId: v.PrivateSubnetIds.Index(pulumi.Int(i)),
		}, child)
		tables = append(tables, table.RouteTableId())
	}
	service := "com.amazonaws." + args.Account.Region + ".s3"
	if args.Account.Partition == "aws-cn" {
		service = "cn." + service
	}
	if _, err := ec2.NewVpcEndpoint(ctx, "s3", &ec2.VpcEndpointArgs{
		VpcId:           v.VpcId,
		ServiceName:     pulumi.String(service),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   tables,
		Tags:            pulumi.StringMap{"Name": pulumi.String(args.Prefix + "-s3")},
	}, child); err != nil {
		return fmt.Errorf("creating the S3 gateway endpoint: %w", err)
	}
	return nil
}
