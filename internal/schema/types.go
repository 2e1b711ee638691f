package schema

// types is the table, by pulumi type token.
var types = map[string]*Type{
	// An explicit AWS provider in another region manages other resources: pulumi-aws replaces
	// the provider, and with it every resource it manages, when its region changes.
	"pulumi:providers:aws": {Replaces: []string{"region"}},

	// The network. A VPC and its subnets hold the database: replacing them moves it.
	"aws:ec2/vpc:Vpc": {Replaces: []string{"cidrBlock", "instanceTenancy"}, Keep: true},
	"aws:ec2/subnet:Subnet": {
		Replaces: []string{"availabilityZone", "availabilityZoneId", "cidrBlock", "vpcId"}, Keep: true,
	},
	"aws:ec2/internetGateway:InternetGateway": {},
	"aws:ec2/eip:Eip":                         {Replaces: []string{"domain"}},
	"aws:ec2/natGateway:NatGateway":           {Replaces: []string{"allocationId", "connectivityType", "subnetId"}},
	"aws:ec2/routeTable:RouteTable":           {Replaces: []string{"vpcId"}},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {
		Replaces: []string{"gatewayId", "subnetId"}, OnePer: "subnetId",
	},
	"aws:ec2/route:Route": {Replaces: []string{"destinationCidrBlock", "destinationPrefixListId", "routeTableId"}},
	"aws:ec2/securityGroup:SecurityGroup": {
		Replaces: []string{"description", "name", "namePrefix", "vpcId"}, Autonamed: "name",
	},
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {Replaces: []string{"vpcId"}, OnePer: "vpcId"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
		Replaces: []string{"securityGroupId"}, ReplacesWhen: ruleSourceKind,
	},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
		Replaces: []string{"securityGroupId"}, ReplacesWhen: ruleSourceKind,
	},
	"aws:ec2/vpcEndpoint:VpcEndpoint": {
		Replaces: []string{"serviceName", "vpcEndpointType", "vpcId"},
	},
	"aws:ec2/flowLog:FlowLog": {
		Replaces: []string{"deliverCrossAccountRole", "destinationOptions", "eniId", "iamRoleArn", "logDestination",
			"logDestinationType", "logFormat", "maxAggregationInterval", "subnetId", "trafficType", "transitGatewayAttachmentId",
			"transitGatewayId", "vpcId"},
	},

	// Data: PostgreSQL, Redis, the buckets, the repositories, the keys and the secrets.
	"aws:rds/instance:Instance": {
		Replaces: []string{"availabilityZone", "characterSetName", "dbName", "engine", "kmsKeyId",
			"restoreToPointInTime", "s3Import", "snapshotIdentifier", "storageEncrypted", "timezone", "username"},
		// The identifier is set, but pulumi-aws v6.83.4 does not autoname it: a replacement is
		// created first unless the program says otherwise.
		Deferred: []string{"allocatedStorage", "caCertIdentifier", "dbSubnetGroupName", "engineVersion",
			"iamDatabaseAuthenticationEnabled", "instanceClass", "iops", "multiAz", "storageThroughput", "storageType"},
		// A retention changed to or from 0 turns automated backups off or on: AWS waits for the
		// window (and restarts the instance); between other values it applies at once.
		DeferredWhen: map[string]func(Change) bool{
			"backupRetentionPeriod": func(c Change) bool { return str(c.From) == "0" || str(c.To) == "0" },
		},
		Identity: []string{"identifier"}, Keep: true,
		Notes: map[string]string{
			"identifier": "renames the instance in place: its endpoint changes",
			"manageMasterUserPassword": "RDS sets a new master password that it keeps in Secrets Manager: " +
				"clients that still use the old one fail until they read the secret",
			"multiAz":               "converting to or from Multi-AZ takes a snapshot and copies the storage: slower I/O meanwhile",
			"instanceClass":         "the instance restarts (with Multi-AZ, a failover of about a minute)",
			"backupRetentionPeriod": "changing to or from 0 restarts the instance at the maintenance window",
			"parameterGroupName":    "the new group's static parameters apply at the next reboot",
		},
	},
	"aws:rds/subnetGroup:SubnetGroup": {Replaces: []string{"name", "namePrefix"}, Autonamed: "name"},
	"aws:rds/parameterGroup:ParameterGroup": {
		Replaces: []string{"description", "family", "name", "namePrefix"}, Autonamed: "name",
		Notes: map[string]string{"parameters": "dynamic parameters apply at once; static ones at the instance's next reboot"},
	},
	"aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": {
		Replaces: []string{"kmsKeyId", "preSignedUrl", "retentionPeriod", "sourceDbInstanceArn"},
		// The delete (StopDBInstanceAutomatedBackupsReplication) names the source instance, so
		// a replacement created first would be stopped by the delete of the old one.
		OnePer: "sourceDbInstanceArn", Keep: true,
		Notes: map[string]string{"retentionPeriod": "replication stops and starts again: the copies made so far " +
			"are kept in the DR region for their retention, and the new replication starts from the next backup"},
	},
	"aws:elasticache/replicationGroup:ReplicationGroup": {
		Replaces: []string{"atRestEncryptionEnabled", "kmsKeyId", "port", "replicationGroupId", "snapshotArns",
			"snapshotName", "subnetGroupName"},
		// The provider replaces a group on an engine change but Redis OSS to Valkey (an upgrade
		// ElastiCache does in place), and on a downgrade of the engine version.
		ReplacesWhen: map[string]func(Change) bool{
			"engine":        func(c Change) bool { return !(str(c.From) == "redis" && str(c.To) == "valkey") },
			"engineVersion": func(c Change) bool { return VersionLater(str(c.From), str(c.To)) },
			// In place from engine version 7.0.5 on, which every version the program allows is.
			"transitEncryptionEnabled": func(c Change) bool { return VersionLater("7.0.5", str(c.After["engineVersion"])) },
		},
		Autonamed: "replicationGroupId",
		Deferred:  []string{"engineVersion", "nodeType"},
		Keep:      true,
		Notes: map[string]string{"authToken": "ElastiCache rotates the token in place: clients must read the " +
			"new one from Secrets Manager"},
	},
	"aws:elasticache/subnetGroup:SubnetGroup": {Replaces: []string{"name"}, Autonamed: "name"},
	"aws:s3/bucketV2:BucketV2": {
		Replaces: []string{"bucket", "bucketPrefix", "objectLockEnabled"}, Autonamed: "bucket", Keep: true,
	},
	"aws:s3/bucketVersioningV2:BucketVersioningV2": {
		Replaces: []string{"bucket", "expectedBucketOwner"}, OnePer: "bucket",
	},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
		Replaces: []string{"bucket", "expectedBucketOwner"}, OnePer: "bucket",
	},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {Replaces: []string{"bucket"}, OnePer: "bucket"},
	"aws:s3/bucketPolicy:BucketPolicy":                       {Replaces: []string{"bucket"}, OnePer: "bucket"},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {Replaces: []string{"bucket"}, OnePer: "bucket"},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {
		Replaces: []string{"bucket", "expectedBucketOwner"}, OnePer: "bucket",
	},
	"aws:s3/bucketLoggingV2:BucketLoggingV2": {
		Replaces: []string{"bucket", "expectedBucketOwner"}, OnePer: "bucket",
	},
	"aws:s3/bucketReplicationConfig:BucketReplicationConfig": {
		Replaces: []string{"bucket"}, OnePer: "bucket", Keep: true,
	},
	"aws:ecr/repository:Repository": {
		Replaces: []string{"encryptionConfigurations", "name"}, Autonamed: "name", Keep: true,
	},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy": {
		Replaces: []string{"policy", "repository"}, DeleteBeforeReplace: true, OnePer: "repository",
	},
	// PutReplicationConfiguration replaces the registry's whole configuration, and the delete
	// empties it: one per account and region.
	"aws:ecr/replicationConfiguration:ReplicationConfiguration": {AccountWide: true, Keep: true},
	"aws:kms/key:Key": {
		Replaces: []string{"bypassPolicyLockoutSafetyCheck", "customKeyStoreId", "customerMasterKeySpec",
			"keySpec", "keyUsage", "multiRegion", "xksKeyId"},
		Keep: true,
	},
	"aws:kms/alias:Alias": {Replaces: []string{"name", "namePrefix"}, Autonamed: "name"},
	"aws:secretsmanager/secret:Secret": {
		Replaces: []string{"name", "namePrefix"}, Autonamed: "name", Keep: true,
	},
	"aws:secretsmanager/secretVersion:SecretVersion": {
		Replaces: []string{"secretBinary", "secretId", "secretString"},
	},

	// The services.
	"aws:ecs/cluster:Cluster": {Replaces: []string{"name"}, Autonamed: "name"},
	"aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": {
		Replaces: []string{"clusterName"}, OnePer: "clusterName",
	},
	"aws:ecs/service:Service": {
		Replaces: []string{"cluster", "deploymentController", "iamRole", "launchType", "name", "schedulingStrategy",
			"serviceRegistries"},
		// capacityProviderStrategyCustomizeDiff: a change of the strategy replaces the service
		// unless forceNewDeployment is true and neither the old nor the new strategy is empty.
		ReplacesWhen: map[string]func(Change) bool{
			"capacityProviderStrategies": func(c Change) bool {
				force, _ := c.After["forceNewDeployment"].(bool)
				return !force || empty(c.From) || empty(c.To)
			},
		},
		Autonamed: "name", Identity: []string{"cluster", "name"},
	},
	"aws:ecs/taskDefinition:TaskDefinition": {
		Replaces: []string{"containerDefinitions", "cpu", "ephemeralStorage", "executionRoleArn", "family",
			"inferenceAccelerators", "ipcMode", "memory", "networkMode", "pidMode", "placementConstraints",
			"proxyConfiguration", "requiresCompatibilities", "runtimePlatform", "taskRoleArn", "volumes"},
		Notes: map[string]string{"containerDefinitions": "a new revision; the service rolls its tasks onto it"},
	},
	"aws:lb/loadBalancer:LoadBalancer": {
		Replaces: []string{"internal", "loadBalancerType", "name", "namePrefix"}, Autonamed: "name",
		// The provider's CustomizeDiff replaces a network load balancer on some changes of its
		// subnets and security groups; an application load balancer changes them in place.
		ReplacesWhen: map[string]func(Change) bool{
			"subnets":        networkLoadBalancer,
			"securityGroups": networkLoadBalancer,
		},
	},
	"aws:lb/targetGroup:TargetGroup": {
		Replaces:  []string{"name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId"},
		Autonamed: "name",
	},
	"aws:lb/listener:Listener":         {Replaces: []string{"loadBalancerArn"}},
	"aws:lb/listenerRule:ListenerRule": {Replaces: []string{"listenerArn"}},
	"aws:acm/certificate:Certificate": {
		Replaces: []string{"certificateAuthorityArn", "domainName", "privateKey", "subjectAlternativeNames",
			"validationMethod"},
	},
	"aws:acm/certificateValidation:CertificateValidation": {
		Replaces: []string{"certificateArn", "validationRecordFqdns"},
	},
	"aws:route53/record:Record": {
		// A new type is an update: one change batch deletes the old record and creates the new.
		Replaces: []string{"name", "zoneId"}, Identity: []string{"zoneId", "name", "type"},
		Notes: map[string]string{"aliases": "the record points elsewhere as soon as Route 53 applies it"},
	},
	"aws:appautoscaling/target:Target": {
		Replaces: []string{"resourceId", "scalableDimension", "serviceNamespace"},
		Identity: []string{"resourceId", "scalableDimension"},
	},
	"aws:appautoscaling/policy:Policy": {
		Replaces: []string{"name", "resourceId", "scalableDimension", "serviceNamespace"}, Autonamed: "name",
		Identity: []string{"resourceId", "scalableDimension", "name"},
	},
	"aws:iam/role:Role": {Replaces: []string{"name", "namePrefix", "path"}, Autonamed: "name"},
	"aws:iam/rolePolicy:RolePolicy": {
		Replaces: []string{"name", "namePrefix", "role"}, Autonamed: "name", Identity: []string{"role", "name"},
	},
	"aws:cloudwatch/logGroup:LogGroup": {
		Replaces: []string{"logGroupClass", "name", "namePrefix"}, Autonamed: "name",
	},
	"aws:cloudwatch/logResourcePolicy:LogResourcePolicy": {
		Replaces: []string{"policyName"}, Identity: []string{"policyName"}, AccountWide: true,
	},
	"aws:cloudwatch/metricAlarm:MetricAlarm": {Replaces: []string{"name"}, Autonamed: "name"},
	// The account stack (account/). Everything here but the budgets exists once per account
	// (and region): the program deletes the old one before its replacement. terraform-provider
	// -aws v5 read against v4 and v6 where the ForceNew sets agree; the recorder's status and
	// the cost allocation tag have none (a new name or tag key moves the resource in place), a
	// policy attachment and a standards subscription no update at all.
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider": {Replaces: []string{"url"}, AccountWide: true},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":   {Replaces: []string{"policyArn", "role"}},
	"aws:iam/policy:Policy":                               {Replaces: []string{"description", "name", "namePrefix", "path"}, Autonamed: "name"},
	"aws:iam/serviceLinkedRole:ServiceLinkedRole": {
		Replaces: []string{"awsServiceName", "customSuffix"}, AccountWide: true,
	},
	"aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": {Replaces: []string{"accountId"}, AccountWide: true},
	"aws:accessanalyzer/analyzer:Analyzer": {
		Replaces: []string{"analyzerName", "configuration", "type"}, Identity: []string{"analyzerName"},
	},
	"aws:securityhub/account:Account":                             {Replaces: []string{"enableDefaultStandards"}, AccountWide: true},
	"aws:securityhub/standardsSubscription:StandardsSubscription": {Replaces: []string{"standardsArn"}},
	"aws:cfg/recorder:Recorder":                                   {Replaces: []string{"name"}, AccountWide: true},
	"aws:cfg/deliveryChannel:DeliveryChannel":                     {Replaces: []string{"name"}, AccountWide: true},
	"aws:cfg/recorderStatus:RecorderStatus":                       {AccountWide: true},
	"aws:budgets/budget:Budget":                                   {Replaces: []string{"accountId", "name", "namePrefix"}},
	"aws:costexplorer/costAllocationTag:CostAllocationTag":        {AccountWide: true},

	"aws:cloudwatch/dashboard:Dashboard": {Replaces: []string{"dashboardName"}, Identity: []string{"dashboardName"}},
	"aws:cloudwatch/eventRule:EventRule": {
		Replaces: []string{"eventBusName", "name", "namePrefix"}, Autonamed: "name",
	},
	"aws:cloudwatch/eventTarget:EventTarget": {Replaces: []string{"eventBusName", "rule", "targetId"}},
	"aws:sfn/stateMachine:StateMachine": {
		Replaces: []string{"name", "namePrefix", "type"}, Autonamed: "name",
	},
	"aws:sns/topic:Topic": {
		Replaces: []string{"fifoTopic", "name", "namePrefix"}, Autonamed: "name",
	},
	"aws:sns/topicPolicy:TopicPolicy": {Replaces: []string{"arn"}, OnePer: "arn"},
	"aws:sns/topicSubscription:TopicSubscription": {
		Replaces: []string{"endpoint", "protocol", "topic"},
		Notes: map[string]string{"endpoint": "a new subscription: its address must confirm it, and gets no " +
			"notification until then"},
	},

	// The firewall.
	"aws:wafv2/webAcl:WebAcl": {Replaces: []string{"name", "namePrefix", "scope"}, Autonamed: "name"},
	"aws:wafv2/webAclAssociation:WebAclAssociation": {
		Replaces: []string{"resourceArn", "webAclArn"}, OnePer: "resourceArn",
	},
	"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": {
		Replaces: []string{"logDestinationConfigs", "resourceArn"}, OnePer: "resourceArn",
	},

	// pulumi-random: every input replaces, as its schema marks them.
	"random:index/randomId:RandomId": {Replaces: []string{"byteLength", "keepers", "prefix"}},
	"random:index/randomPassword:RandomPassword": {
		Replaces: []string{"keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper",
			"number", "numeric", "overrideSpecial", "special", "upper"},
	},
}

// ruleSourceKind replaces a security group rule only when its source changes kind (a CIDR
// range, a prefix list, another group): a new value of the same kind is changed in place
// (the provider's ModifyPlan).
var ruleSourceKind = map[string]func(Change) bool{
	"cidrIpv4":                  sourceKindChanges,
	"cidrIpv6":                  sourceKindChanges,
	"prefixListId":              sourceKindChanges,
	"referencedSecurityGroupId": sourceKindChanges,
}

func sourceKindChanges(c Change) bool { return empty(c.From) != empty(c.To) }

func networkLoadBalancer(c Change) bool { return str(c.After["loadBalancerType"]) == "network" }
