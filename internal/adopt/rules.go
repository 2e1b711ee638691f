package adopt

import (
	"strings"

	"coldchain/internal/schema"
	"coldchain/internal/tfstate"
)

// A rule says how a pulumi-aws resource type is found in a Terraform state and imported: the
// Terraform types that are the same AWS resource, what tells one resource from another and
// the id "pulumi import" takes. Which changes replace it, and what must be kept, are the
// schema table's (internal/schema), which the change preview reads too.
type rule struct {
	// terraform are the Terraform resource types of the same AWS resource (aws_lb and its
	// older name aws_alb).
	terraform []string
	// identity are the inputs that name the resource in AWS (a name, a CIDR, a port): a
	// Terraform instance whose attributes differ there is another resource. Paths are
	// dot-separated input names, "*" for every element of a list.
	identity []string
	// needs are the references that place the resource (a rule's security group, a route's
	// table): it is paired only once what they refer to is, and with an instance that refers
	// to the same. A port alone does not tell one group's rule from another's.
	needs []string
	// within are the references that place the resource without telling it apart (the VPC of
	// a security group or a route table): required like needs, but no evidence by themselves.
	within []string
	// importID is the id "pulumi import" takes for the type, from the "Import" section of the
	// type's pulumi-aws documentation, built from the Terraform instance.
	importID func(r *tfstate.Resource) string
	// single marks the types the program declares once by design (one VPC, one database):
	// where each side has exactly one, they are the same resource whatever their names.
	single bool
	// notes say what a change of an input does to an adopted resource beyond changing it.
	notes map[string]string
	// renames are the inputs whose Terraform attribute is not their snake_case form.
	renames map[string]string
	// same says, per input, when a Terraform value means what the program's value does
	// though it is written differently.
	same map[string]func(ours, theirs string) bool
	// unset are inputs the program leaves unset that change the resource when Terraform set
	// them (a service's launch type, which the program's capacity providers replace).
	unset []string
	// accept refuses a candidate that agrees on identity and references but is still not the
	// same thing (a route table whose default route leads elsewhere).
	accept func(m *matcher, ours *resource, theirs *tfstate.Resource) bool
}

// Adoptable is true for the pulumi-aws types adopt can pair with a Terraform instance.
func Adoptable(typ string) bool { return rules[typ] != nil }

// attr is the import id of a type imported by one of its Terraform attributes.
func attr(name string) func(*tfstate.Resource) string {
	return func(r *tfstate.Resource) string { return r.String(name) }
}

// join is the import id of a type imported by several attributes joined by a separator.
func join(sep string, names ...string) func(*tfstate.Resource) string {
	return func(r *tfstate.Resource) string {
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = r.String(n)
		}
		return strings.Join(parts, sep)
	}
}

// lastSegment is the part of an ARN after its last "/" (a cluster's name).
func lastSegment(s string) string { return s[strings.LastIndex(s, "/")+1:] }

// versionPrefix is true when the program's engine version is the Terraform one or a prefix of
// it at a dot ("16" for "16.4"): RDS and ElastiCache take a major version and report the
// running minor one, and the provider ignores the difference.
func versionPrefix(ours, theirs string) bool {
	return ours == theirs || strings.HasPrefix(theirs, ours+".")
}

// rules are the pulumi-aws types a migration adopts. Their import ids follow the "Import"
// section of each type's doc comment in pulumi-aws v6.83.4; their replacing attributes the
// schemas of the Terraform provider it bridges, terraform-provider-aws v5.100.0 (ForceNew,
// RequiresReplace, and the CustomizeDiff functions that force a new resource).
var rules = map[string]*rule{
	// The network. A VPC and its subnets hold the database: replacing them would move it.
	"aws:ec2/vpc:Vpc": {
		single:    true,
		terraform: []string{"aws_vpc"}, identity: []string{"cidrBlock"}, importID: attr("id"),
	},
	"aws:ec2/subnet:Subnet": {
		needs:     []string{"vpcId"},
		terraform: []string{"aws_subnet"}, identity: []string{"cidrBlock"}, importID: attr("id"),
	},
	"aws:ec2/internetGateway:InternetGateway": {
		needs: []string{"vpcId"}, single: true,
		terraform: []string{"aws_internet_gateway"}, importID: attr("id"),
	},
	"aws:ec2/eip:Eip": {
		terraform: []string{"aws_eip"}, importID: attr("id"),
	},
	"aws:ec2/natGateway:NatGateway": {
		needs:     []string{"subnetId"},
		terraform: []string{"aws_nat_gateway"}, importID: attr("id"),
	},
	"aws:ec2/routeTable:RouteTable": {
		within:    []string{"vpcId"},
		terraform: []string{"aws_route_table"}, importID: attr("id"),
		accept: sameDefaultRoute,
	},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {
		needs:     []string{"subnetId"},
		terraform: []string{"aws_route_table_association"}, importID: join("/", "subnet_id", "route_table_id"),
	},
	"aws:ec2/route:Route": {
		needs:     []string{"routeTableId"},
		terraform: []string{"aws_route"}, identity: []string{"destinationCidrBlock"},
		importID: join("_", "route_table_id", "destination_cidr_block"),
	},
	"aws:ec2/securityGroup:SecurityGroup": {
		within:    []string{"vpcId"},
		terraform: []string{"aws_security_group"}, importID: attr("id"),
	},
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {
		needs:     []string{"vpcId"},
		terraform: []string{"aws_default_security_group"}, importID: attr("id"),
	},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
		needs:     []string{"securityGroupId"},
		terraform: []string{"aws_vpc_security_group_ingress_rule"},
		identity:  []string{"ipProtocol", "fromPort", "toPort", "cidrIpv4"}, importID: attr("id"),
	},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
		needs:     []string{"securityGroupId"},
		terraform: []string{"aws_vpc_security_group_egress_rule"},
		identity:  []string{"ipProtocol", "fromPort", "toPort", "cidrIpv4"}, importID: attr("id"),
	},
	"aws:ec2/vpcEndpoint:VpcEndpoint": {
		within:    []string{"vpcId"},
		terraform: []string{"aws_vpc_endpoint"}, identity: []string{"serviceName", "vpcEndpointType"}, importID: attr("id"),
	},
	"aws:ec2/flowLog:FlowLog": {
		needs:     []string{"vpcId"},
		terraform: []string{"aws_flow_log"}, importID: attr("id"),
	},

	// Data: PostgreSQL, Redis, the buckets, the repositories, the keys and the secrets.
	"aws:rds/instance:Instance": {
		single:    true,
		terraform: []string{"aws_db_instance"}, identity: []string{"identifier"}, importID: attr("identifier"),
		same: map[string]func(string, string) bool{"engineVersion": versionPrefix},
		notes: map[string]string{
			"identifier": "renames the instance in place: its endpoint changes",
			"manageMasterUserPassword": "RDS sets a new master password that it keeps in Secrets Manager: " +
				"clients that still use the old one fail until they read the secret",
		},
	},
	"aws:rds/subnetGroup:SubnetGroup": {
		single:    true,
		terraform: []string{"aws_db_subnet_group"}, importID: attr("name"),
	},
	"aws:rds/parameterGroup:ParameterGroup": {
		single:    true,
		terraform: []string{"aws_db_parameter_group"}, importID: attr("name"),
	},
	"aws:elasticache/replicationGroup:ReplicationGroup": {
		single:    true,
		terraform: []string{"aws_elasticache_replication_group"}, importID: attr("replication_group_id"),
		same: map[string]func(string, string) bool{"engineVersion": versionPrefix},
		// With ElastiCache's own key the program sets no kmsKeyId, which replaces a cache
		// Terraform created with a key of its own.
		unset: []string{"kmsKeyId"},
		notes: map[string]string{"authToken": "the program's generated token replaces Terraform's: ElastiCache " +
			"rotates it in place, and clients must read the new one from Secrets Manager"},
	},
	"aws:elasticache/subnetGroup:SubnetGroup": {
		single:    true,
		terraform: []string{"aws_elasticache_subnet_group"}, importID: attr("name"),
	},
	"aws:s3/bucketV2:BucketV2": {
		terraform: []string{"aws_s3_bucket"}, identity: []string{"bucket"}, importID: attr("bucket"),
	},
	"aws:s3/bucketVersioningV2:BucketVersioningV2": {
		terraform: []string{"aws_s3_bucket_versioning"}, identity: []string{"bucket"}, importID: attr("bucket"),
	},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
		terraform: []string{"aws_s3_bucket_server_side_encryption_configuration"}, identity: []string{"bucket"}, importID: attr("bucket"),
	},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {
		terraform: []string{"aws_s3_bucket_public_access_block"}, identity: []string{"bucket"}, importID: attr("bucket"),
	},
	"aws:s3/bucketPolicy:BucketPolicy": {
		terraform: []string{"aws_s3_bucket_policy"}, identity: []string{"bucket"}, importID: attr("bucket"),
	},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
		terraform: []string{"aws_s3_bucket_ownership_controls"}, identity: []string{"bucket"}, importID: attr("bucket"),
	},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {
		terraform: []string{"aws_s3_bucket_lifecycle_configuration"}, identity: []string{"bucket"}, importID: attr("bucket"),
	},
	"aws:s3/bucketLoggingV2:BucketLoggingV2": {
		terraform: []string{"aws_s3_bucket_logging"}, identity: []string{"bucket"}, importID: attr("bucket"),
	},
	"aws:ecr/repository:Repository": {
		terraform: []string{"aws_ecr_repository"}, identity: []string{"name"}, importID: attr("name"),
	},
	"aws:ecr/replicationConfiguration:ReplicationConfiguration": {
		single:    true,
		terraform: []string{"aws_ecr_replication_configuration"}, importID: attr("registry_id"),
	},
	"aws:s3/bucketReplicationConfig:BucketReplicationConfig": {
		terraform: []string{"aws_s3_bucket_replication_configuration"}, identity: []string{"bucket"}, importID: attr("bucket"),
	},
	"aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": {
		needs:     []string{"sourceDbInstanceArn"},
		terraform: []string{"aws_db_instance_automated_backups_replication"}, importID: attr("id"),
	},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy": {
		terraform: []string{"aws_ecr_lifecycle_policy"}, identity: []string{"repository"}, importID: attr("repository"),
	},
	"aws:kms/key:Key": {terraform: []string{"aws_kms_key"}, importID: attr("key_id")},
	"aws:kms/alias:Alias": {
		terraform: []string{"aws_kms_alias"}, identity: []string{"name"}, importID: attr("name"),
	},
	"aws:secretsmanager/secret:Secret": {
		terraform: []string{"aws_secretsmanager_secret"}, importID: attr("arn"),
	},
	"aws:secretsmanager/secretVersion:SecretVersion": {
		needs:     []string{"secretId"},
		terraform: []string{"aws_secretsmanager_secret_version"}, importID: join("|", "secret_id", "version_id"),
	},

	// The services.
	"aws:ecs/cluster:Cluster": {
		single:    true,
		terraform: []string{"aws_ecs_cluster"}, identity: []string{"name"}, importID: attr("name"),
	},
	"aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": {
		single:    true,
		terraform: []string{"aws_ecs_cluster_capacity_providers"}, identity: []string{"clusterName"},
		importID: attr("cluster_name"),
	},
	"aws:ecs/service:Service": {
		terraform: []string{"aws_ecs_service"}, identity: []string{"name"},
		importID: func(r *tfstate.Resource) string { return lastSegment(r.String("cluster")) + "/" + r.String("name") },
		// A service Terraform runs with a launch type moves to the program's capacity provider
		// strategy only by replacement (the provider's ForceNew on launch_type, and on
		// capacity_provider_strategy when either side has none).
		unset: []string{"launchType"},
		notes: map[string]string{"launchType": "ECS moves a service from a launch type to a capacity provider " +
			"strategy in place: do it before the first up (docs/migrating-from-terraform.md), or the up replaces " +
			"the service, creating the new one first, which ECS refuses while the old one of the same name runs"},
	},
	"aws:ecs/taskDefinition:TaskDefinition": {
		terraform: []string{"aws_ecs_task_definition"}, identity: []string{"family"}, importID: attr("arn"),
	},
	"aws:lb/loadBalancer:LoadBalancer": {
		single:    true,
		terraform: []string{"aws_lb", "aws_alb"}, importID: attr("arn"),
	},
	"aws:lb/targetGroup:TargetGroup": {
		terraform: []string{"aws_lb_target_group", "aws_alb_target_group"}, importID: attr("arn"),
	},
	"aws:lb/listener:Listener": {
		needs:     []string{"loadBalancerArn"},
		terraform: []string{"aws_lb_listener", "aws_alb_listener"}, identity: []string{"port"}, importID: attr("arn"),
	},
	"aws:lb/listenerRule:ListenerRule": {
		needs:     []string{"listenerArn"},
		terraform: []string{"aws_lb_listener_rule", "aws_alb_listener_rule"}, identity: []string{"priority"},
		importID: attr("arn"),
	},
	"aws:acm/certificate:Certificate": {
		terraform: []string{"aws_acm_certificate"}, identity: []string{"domainName"}, importID: attr("arn"),
	},
	"aws:route53/record:Record": {
		terraform: []string{"aws_route53_record"}, identity: []string{"name", "type"},
		importID: join("_", "zone_id", "name", "type"),
		same:     map[string]func(string, string) bool{"name": sameDNSName},
	},
	"aws:appautoscaling/target:Target": {
		terraform: []string{"aws_appautoscaling_target"}, identity: []string{"resourceId", "scalableDimension"},
		importID: join("/", "service_namespace", "resource_id", "scalable_dimension"),
	},
	"aws:appautoscaling/policy:Policy": {
		terraform: []string{"aws_appautoscaling_policy"},
		identity: []string{"resourceId", "scalableDimension",
			"targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType"},
		importID: join("/", "service_namespace", "resource_id", "scalable_dimension", "name"),
	},
	"aws:iam/role:Role": {
		terraform: []string{"aws_iam_role"}, importID: attr("name"),
	},
	"aws:iam/rolePolicy:RolePolicy": {
		needs:     []string{"role"},
		terraform: []string{"aws_iam_role_policy"}, importID: join(":", "role", "name"),
	},
	"aws:cloudwatch/logGroup:LogGroup": {
		terraform: []string{"aws_cloudwatch_log_group"}, identity: []string{"name"}, importID: attr("name"),
	},
	"aws:cloudwatch/logResourcePolicy:LogResourcePolicy": {
		terraform: []string{"aws_cloudwatch_log_resource_policy"}, identity: []string{"policyName"},
		importID: attr("policy_name"),
	},
	"aws:cloudwatch/metricAlarm:MetricAlarm": {
		terraform: []string{"aws_cloudwatch_metric_alarm"}, identity: []string{"name"}, importID: attr("alarm_name"), renames: map[string]string{"name": "alarm_name"},
	},
	// The firewall. A web ACL imports by id, name and scope (Terraform's import format; the
	// pulumi-aws doc comment of this type has no Import section).
	"aws:wafv2/webAcl:WebAcl": {
		terraform: []string{"aws_wafv2_web_acl"}, identity: []string{"name", "scope"},
		importID: join("/", "id", "name", "scope"),
	},
	"aws:wafv2/webAclAssociation:WebAclAssociation": {
		needs:     []string{"resourceArn", "webAclArn"},
		terraform: []string{"aws_wafv2_web_acl_association"}, importID: join(",", "web_acl_arn", "resource_arn"),
	},
	"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": {
		needs:     []string{"resourceArn"},
		terraform: []string{"aws_wafv2_web_acl_logging_configuration"}, importID: attr("resource_arn"),
	},
	"aws:cloudwatch/dashboard:Dashboard": {
		terraform: []string{"aws_cloudwatch_dashboard"}, identity: []string{"dashboardName"},
		importID: attr("dashboard_name"),
	},
	"aws:cloudwatch/eventRule:EventRule": {
		terraform: []string{"aws_cloudwatch_event_rule"}, importID: attr("id"),
	},
	"aws:cloudwatch/eventTarget:EventTarget": {
		needs:     []string{"rule"},
		terraform: []string{"aws_cloudwatch_event_target"}, importID: join("/", "rule", "target_id"),
	},
	"aws:sfn/stateMachine:StateMachine": {
		terraform: []string{"aws_sfn_state_machine"}, importID: attr("arn"),
	},
	"aws:sns/topic:Topic": {
		terraform: []string{"aws_sns_topic"}, identity: []string{"name"}, importID: attr("arn"),
	},
	"aws:sns/topicPolicy:TopicPolicy": {
		terraform: []string{"aws_sns_topic_policy"}, identity: []string{"arn"}, importID: attr("arn"),
	},
	"aws:sns/topicSubscription:TopicSubscription": {
		needs:     []string{"topic"},
		terraform: []string{"aws_sns_topic_subscription"}, identity: []string{"protocol", "endpoint"},
		importID: attr("arn"),
		renames:  map[string]string{"topic": "topic_arn"},
	},
}

// sameDNSName is true for two spellings of one DNS name (Route 53 keeps no trailing dot).
func sameDNSName(ours, theirs string) bool {
	return strings.TrimSuffix(strings.ToLower(ours), ".") == strings.TrimSuffix(strings.ToLower(theirs), ".")
}

// typeSchema is the schema table's entry of a type, or an empty one (nothing replaces it,
// nothing to keep) for a type the table does not know, such as a component.
func typeSchema(typ string) *schema.Type {
	if t, ok := schema.Lookup(typ); ok {
		return t
	}
	return &schema.Type{}
}
