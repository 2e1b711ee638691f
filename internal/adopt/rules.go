package adopt

import (
	"strconv"
	"strings"

	"coldchain/internal/tfstate"
)

// A rule says how a pulumi-aws resource type is found in a Terraform state and imported: the
// Terraform types that are the same AWS resource, what tells one resource from another, the
// id "pulumi import" takes, and which changes replace it.
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
	// replaces are the inputs whose change replaces the resource: the Terraform provider's
	// ForceNew attributes (or RequiresReplace) among the inputs the program sets.
	replaces []string
	// single marks the types the program declares once by design (one VPC, one database):
	// where each side has exactly one, they are the same resource whatever their names.
	single bool
	// keep marks what a migration must never replace: stateful resources (data, images, keys,
	// secrets) and the network they live in.
	keep bool
	// renames are the inputs whose Terraform attribute is not their snake_case form.
	renames map[string]string
	// same says, per input, when a Terraform value means what the program's value does
	// though it is written differently.
	same map[string]func(ours, theirs string) bool
	// replacesWhen are inputs whose change replaces the resource only in some cases (the
	// provider's CustomizeDiff): given Terraform's value and the program's.
	replacesWhen map[string]func(from, to string) bool
	// unset are inputs the program leaves unset that change the resource when Terraform set
	// them (a service's launch type, which the program's capacity providers replace).
	unset []string
	// notes say what a change of an input does beyond changing it.
	notes map[string]string
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
		replaces: []string{"cidrBlock"}, keep: true,
	},
	"aws:ec2/subnet:Subnet": {
		needs:     []string{"vpcId"},
		terraform: []string{"aws_subnet"}, identity: []string{"cidrBlock"}, importID: attr("id"),
		replaces: []string{"availabilityZone", "cidrBlock", "vpcId"}, keep: true,
	},
	"aws:ec2/internetGateway:InternetGateway": {
		needs: []string{"vpcId"}, single: true,
		terraform: []string{"aws_internet_gateway"}, importID: attr("id"),
	},
	"aws:ec2/eip:Eip": {
		terraform: []string{"aws_eip"}, importID: attr("id"), replaces: []string{"domain"},
	},
	"aws:ec2/natGateway:NatGateway": {
		needs:     []string{"subnetId"},
		terraform: []string{"aws_nat_gateway"}, importID: attr("id"),
		replaces: []string{"allocationId", "subnetId"},
	},
	"aws:ec2/routeTable:RouteTable": {
		within:    []string{"vpcId"},
		terraform: []string{"aws_route_table"}, importID: attr("id"), replaces: []string{"vpcId"},
		accept: sameDefaultRoute,
	},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {
		needs:     []string{"subnetId"},
		terraform: []string{"aws_route_table_association"}, importID: join("/", "subnet_id", "route_table_id"),
		replaces: []string{"subnetId"},
	},
	"aws:ec2/route:Route": {
		needs:     []string{"routeTableId"},
		terraform: []string{"aws_route"}, identity: []string{"destinationCidrBlock"},
		importID: join("_", "route_table_id", "destination_cidr_block"),
		replaces: []string{"destinationCidrBlock", "routeTableId"},
	},
	"aws:ec2/securityGroup:SecurityGroup": {
		within:    []string{"vpcId"},
		terraform: []string{"aws_security_group"}, importID: attr("id"),
		replaces: []string{"description", "name", "vpcId"},
	},
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {
		needs:     []string{"vpcId"},
		terraform: []string{"aws_default_security_group"}, importID: attr("id"), replaces: []string{"vpcId"},
	},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
		needs:     []string{"securityGroupId"},
		terraform: []string{"aws_vpc_security_group_ingress_rule"},
		identity:  []string{"ipProtocol", "fromPort", "toPort", "cidrIpv4"}, importID: attr("id"),
		replaces: []string{"securityGroupId"},
	},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
		needs:     []string{"securityGroupId"},
		terraform: []string{"aws_vpc_security_group_egress_rule"},
		identity:  []string{"ipProtocol", "fromPort", "toPort", "cidrIpv4"}, importID: attr("id"),
		replaces: []string{"securityGroupId"},
	},
	"aws:ec2/vpcEndpoint:VpcEndpoint": {
		within:    []string{"vpcId"},
		terraform: []string{"aws_vpc_endpoint"}, identity: []string{"serviceName", "vpcEndpointType"}, importID: attr("id"),
		replaces: []string{"serviceName", "vpcEndpointType", "vpcId"},
	},
	"aws:ec2/flowLog:FlowLog": {
		needs:     []string{"vpcId"},
		terraform: []string{"aws_flow_log"}, importID: attr("id"),
		replaces: []string{"iamRoleArn", "logDestination", "logDestinationType", "trafficType", "vpcId"},
	},

	// Data: PostgreSQL, Redis, the buckets, the repositories, the keys and the secrets.
	"aws:rds/instance:Instance": {
		single:    true,
		terraform: []string{"aws_db_instance"}, identity: []string{"identifier"}, importID: attr("identifier"),
		replaces: []string{"availabilityZone", "dbName", "engine", "kmsKeyId", "storageEncrypted", "username"},
		keep:     true, same: map[string]func(string, string) bool{"engineVersion": versionPrefix},
		notes: map[string]string{
			"identifier": "renames the instance in place: its endpoint changes",
			"manageMasterUserPassword": "RDS sets a new master password that it keeps in Secrets Manager: " +
				"clients that still use the old one fail until they read the secret",
		},
	},
	"aws:rds/subnetGroup:SubnetGroup": {
		single:    true,
		terraform: []string{"aws_db_subnet_group"}, importID: attr("name"), replaces: []string{"name"},
	},
	"aws:rds/parameterGroup:ParameterGroup": {
		single:    true,
		terraform: []string{"aws_db_parameter_group"}, importID: attr("name"),
		replaces: []string{"description", "family", "name"},
	},
	"aws:elasticache/replicationGroup:ReplicationGroup": {
		single:    true,
		terraform: []string{"aws_elasticache_replication_group"}, importID: attr("replication_group_id"),
		replaces: []string{"atRestEncryptionEnabled", "kmsKeyId", "port", "replicationGroupId", "subnetGroupName"},
		keep:     true, same: map[string]func(string, string) bool{"engineVersion": versionPrefix},
		// With ElastiCache's own key the program sets no kmsKeyId, which replaces a cache
		// Terraform created with a key of its own.
		unset: []string{"kmsKeyId"},
		// The provider replaces a group on an engine change but Redis OSS to Valkey (an
		// upgrade ElastiCache does in place), and on a downgrade of the engine version.
		replacesWhen: map[string]func(string, string) bool{
			"engine":        func(from, to string) bool { return !(from == "redis" && to == "valkey") },
			"engineVersion": func(from, to string) bool { return VersionLater(from, to) },
		},
		notes: map[string]string{"authToken": "the program's generated token replaces Terraform's: ElastiCache " +
			"rotates it in place, and clients must read the new one from Secrets Manager"},
	},
	"aws:elasticache/subnetGroup:SubnetGroup": {
		single:    true,
		terraform: []string{"aws_elasticache_subnet_group"}, importID: attr("name"), replaces: []string{"name"},
	},
	"aws:s3/bucketV2:BucketV2": {
		terraform: []string{"aws_s3_bucket"}, identity: []string{"bucket"}, importID: attr("bucket"),
		replaces: []string{"bucket"}, keep: true,
	},
	"aws:s3/bucketVersioningV2:BucketVersioningV2": {
		terraform: []string{"aws_s3_bucket_versioning"}, identity: []string{"bucket"}, importID: attr("bucket"), replaces: []string{"bucket"},
	},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
		terraform: []string{"aws_s3_bucket_server_side_encryption_configuration"}, identity: []string{"bucket"}, importID: attr("bucket"),
		replaces: []string{"bucket"},
	},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {
		terraform: []string{"aws_s3_bucket_public_access_block"}, identity: []string{"bucket"}, importID: attr("bucket"), replaces: []string{"bucket"},
	},
	"aws:s3/bucketPolicy:BucketPolicy": {
		terraform: []string{"aws_s3_bucket_policy"}, identity: []string{"bucket"}, importID: attr("bucket"), replaces: []string{"bucket"},
	},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
		terraform: []string{"aws_s3_bucket_ownership_controls"}, identity: []string{"bucket"}, importID: attr("bucket"), replaces: []string{"bucket"},
	},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {
		terraform: []string{"aws_s3_bucket_lifecycle_configuration"}, identity: []string{"bucket"}, importID: attr("bucket"), replaces: []string{"bucket"},
	},
	"aws:s3/bucketLoggingV2:BucketLoggingV2": {
		terraform: []string{"aws_s3_bucket_logging"}, identity: []string{"bucket"}, importID: attr("bucket"), replaces: []string{"bucket"},
	},
	"aws:ecr/repository:Repository": {
		terraform: []string{"aws_ecr_repository"}, identity: []string{"name"}, importID: attr("name"),
		replaces: []string{"encryptionConfigurations", "name"}, keep: true,
	},
	"aws:ecr/replicationConfiguration:ReplicationConfiguration": {
		single:    true,
		terraform: []string{"aws_ecr_replication_configuration"}, importID: attr("registry_id"),
	},
	"aws:s3/bucketReplicationConfig:BucketReplicationConfig": {
		terraform: []string{"aws_s3_bucket_replication_configuration"}, identity: []string{"bucket"}, importID: attr("bucket"),
		replaces: []string{"bucket"},
	},
	"aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": {
		needs:     []string{"sourceDbInstanceArn"},
		terraform: []string{"aws_db_instance_automated_backups_replication"}, importID: attr("id"),
		replaces: []string{"kmsKeyId", "preSignedUrl", "retentionPeriod", "sourceDbInstanceArn"},
	},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy": {
		terraform: []string{"aws_ecr_lifecycle_policy"}, identity: []string{"repository"}, importID: attr("repository"), replaces: []string{"policy", "repository"},
	},
	"aws:kms/key:Key": {terraform: []string{"aws_kms_key"}, importID: attr("key_id"), keep: true},
	"aws:kms/alias:Alias": {
		terraform: []string{"aws_kms_alias"}, identity: []string{"name"}, importID: attr("name"), replaces: []string{"name"},
	},
	"aws:secretsmanager/secret:Secret": {
		terraform: []string{"aws_secretsmanager_secret"}, importID: attr("arn"), replaces: []string{"name"}, keep: true,
	},
	"aws:secretsmanager/secretVersion:SecretVersion": {
		needs:     []string{"secretId"},
		terraform: []string{"aws_secretsmanager_secret_version"}, importID: join("|", "secret_id", "version_id"),
		replaces: []string{"secretId", "secretString"},
	},

	// The services.
	"aws:ecs/cluster:Cluster": {
		single:    true,
		terraform: []string{"aws_ecs_cluster"}, identity: []string{"name"}, importID: attr("name"), replaces: []string{"name"},
	},
	"aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": {
		single:    true,
		terraform: []string{"aws_ecs_cluster_capacity_providers"}, identity: []string{"clusterName"},
		importID: attr("cluster_name"), replaces: []string{"clusterName"},
	},
	"aws:ecs/service:Service": {
		terraform: []string{"aws_ecs_service"}, identity: []string{"name"},
		importID: func(r *tfstate.Resource) string { return lastSegment(r.String("cluster")) + "/" + r.String("name") },
		// A service Terraform runs with a launch type moves to the program's capacity provider
		// strategy only by replacement (the provider's ForceNew on launch_type, and on
		// capacity_provider_strategy when either side has none).
		replaces: []string{"capacityProviderStrategies", "cluster", "launchType", "name"},
		unset:    []string{"launchType"},
	},
	"aws:ecs/taskDefinition:TaskDefinition": {
		terraform: []string{"aws_ecs_task_definition"}, identity: []string{"family"}, importID: attr("arn"),
		replaces: []string{"containerDefinitions", "cpu", "executionRoleArn", "family", "memory", "networkMode",
			"requiresCompatibilities", "runtimePlatform", "taskRoleArn", "volumes"},
	},
	"aws:lb/loadBalancer:LoadBalancer": {
		single:    true,
		terraform: []string{"aws_lb", "aws_alb"}, importID: attr("arn"),
		replaces: []string{"internal", "loadBalancerType", "name"},
	},
	"aws:lb/targetGroup:TargetGroup": {
		terraform: []string{"aws_lb_target_group", "aws_alb_target_group"}, importID: attr("arn"),
		replaces: []string{"name", "port", "protocol", "targetType", "vpcId"},
	},
	"aws:lb/listener:Listener": {
		needs:     []string{"loadBalancerArn"},
		terraform: []string{"aws_lb_listener", "aws_alb_listener"}, identity: []string{"port"}, importID: attr("arn"),
		replaces: []string{"loadBalancerArn"},
	},
	"aws:lb/listenerRule:ListenerRule": {
		needs:     []string{"listenerArn"},
		terraform: []string{"aws_lb_listener_rule", "aws_alb_listener_rule"}, identity: []string{"priority"},
		importID: attr("arn"), replaces: []string{"listenerArn"},
	},
	"aws:acm/certificate:Certificate": {
		terraform: []string{"aws_acm_certificate"}, identity: []string{"domainName"}, importID: attr("arn"),
		replaces: []string{"domainName", "validationMethod"},
	},
	"aws:route53/record:Record": {
		terraform: []string{"aws_route53_record"}, identity: []string{"name", "type"},
		importID: join("_", "zone_id", "name", "type"), replaces: []string{"name", "type", "zoneId"},
		same: map[string]func(string, string) bool{"name": sameDNSName},
	},
	"aws:appautoscaling/target:Target": {
		terraform: []string{"aws_appautoscaling_target"}, identity: []string{"resourceId", "scalableDimension"},
		importID: join("/", "service_namespace", "resource_id", "scalable_dimension"),
		replaces: []string{"resourceId", "scalableDimension", "serviceNamespace"},
	},
	"aws:appautoscaling/policy:Policy": {
		terraform: []string{"aws_appautoscaling_policy"},
		identity: []string{"resourceId", "scalableDimension",
			"targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType"},
		importID: join("/", "service_namespace", "resource_id", "scalable_dimension", "name"),
		replaces: []string{"name", "resourceId", "scalableDimension", "serviceNamespace"},
	},
	"aws:iam/role:Role": {
		terraform: []string{"aws_iam_role"}, importID: attr("name"), replaces: []string{"name"},
	},
	"aws:iam/rolePolicy:RolePolicy": {
		needs:     []string{"role"},
		terraform: []string{"aws_iam_role_policy"}, importID: join(":", "role", "name"), replaces: []string{"name", "role"},
	},
	"aws:cloudwatch/logGroup:LogGroup": {
		terraform: []string{"aws_cloudwatch_log_group"}, identity: []string{"name"}, importID: attr("name"),
		replaces: []string{"name"},
	},
	"aws:cloudwatch/metricAlarm:MetricAlarm": {
		terraform: []string{"aws_cloudwatch_metric_alarm"}, identity: []string{"name"}, importID: attr("alarm_name"),
		replaces: []string{"name"}, renames: map[string]string{"name": "alarm_name"},
	},
	// The firewall. A web ACL imports by id, name and scope (Terraform's import format; the
	// pulumi-aws doc comment of this type has no Import section).
	"aws:wafv2/webAcl:WebAcl": {
		terraform: []string{"aws_wafv2_web_acl"}, identity: []string{"name", "scope"},
		importID: join("/", "id", "name", "scope"), replaces: []string{"name", "scope"},
	},
	"aws:wafv2/webAclAssociation:WebAclAssociation": {
		needs:     []string{"resourceArn", "webAclArn"},
		terraform: []string{"aws_wafv2_web_acl_association"}, importID: join(",", "web_acl_arn", "resource_arn"),
		replaces: []string{"resourceArn", "webAclArn"},
	},
	"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": {
		needs:     []string{"resourceArn"},
		terraform: []string{"aws_wafv2_web_acl_logging_configuration"}, importID: attr("resource_arn"),
		replaces: []string{"resourceArn"},
	},
	"aws:cloudwatch/dashboard:Dashboard": {
		terraform: []string{"aws_cloudwatch_dashboard"}, identity: []string{"dashboardName"},
		importID: attr("dashboard_name"), replaces: []string{"dashboardName"},
	},
	"aws:cloudwatch/eventRule:EventRule": {
		terraform: []string{"aws_cloudwatch_event_rule"}, importID: attr("id"), replaces: []string{"name"},
	},
	"aws:cloudwatch/eventTarget:EventTarget": {
		needs:     []string{"rule"},
		terraform: []string{"aws_cloudwatch_event_target"}, importID: join("/", "rule", "target_id"),
		replaces: []string{"rule", "targetId"},
	},
	"aws:sfn/stateMachine:StateMachine": {
		terraform: []string{"aws_sfn_state_machine"}, importID: attr("arn"), replaces: []string{"name", "type"},
	},
	"aws:sns/topic:Topic": {
		terraform: []string{"aws_sns_topic"}, identity: []string{"name"}, importID: attr("arn"), replaces: []string{"name"},
	},
	"aws:sns/topicPolicy:TopicPolicy": {
		terraform: []string{"aws_sns_topic_policy"}, identity: []string{"arn"}, importID: attr("arn"), replaces: []string{"arn"},
	},
	"aws:sns/topicSubscription:TopicSubscription": {
		needs:     []string{"topic"},
		terraform: []string{"aws_sns_topic_subscription"}, identity: []string{"protocol", "endpoint"},
		importID: attr("arn"), replaces: []string{"endpoint", "protocol", "topic"},
		renames: map[string]string{"topic": "topic_arn"},
	},
}

// VersionLater is true when version a is later than b ("7.1" after "7.0", "8.0" after "7.2").
func VersionLater(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}

// sameDNSName is true for two spellings of one DNS name (Route 53 keeps no trailing dot).
func sameDNSName(ours, theirs string) bool {
	return strings.TrimSuffix(strings.ToLower(ours), ".") == strings.TrimSuffix(strings.ToLower(theirs), ".")
}
