package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"coldchain/internal/cost"
	"coldchain/internal/offline"
)

// This file is "go run . cost": the monthly cost of a stack's plan at the list prices of
// internal/cost/prices.tsv. The plan says what runs (classes, counts, the copies in the DR
// region); the usage no plan holds (gigabytes moved and stored, requests) comes from stated
// assumptions, printed with the result and overridable.

const costUsage = `usage: go run . cost [--stack NAME] [-c key=value ...] [--usage key=value ...] [--json]
                       [--against BEFORE.json]

Prices the stack's plan by the month, line by line (quantity, unit price, monthly, and * for a
derived price, an estimate), with a total and the usage assumptions it took. A price the price
file lacks is an error that names it, never a zero.

  --stack NAME       the stack whose Pulumi.NAME.yaml is planned (default production)
  -c key=value       override a config value (repeatable)
  --usage key=value  override a usage assumption (repeatable; the output lists them)
  --json             print the estimate as JSON
  --against FILE     print instead what changes against an earlier "cost --json" (the stack as
                     main has it, say): each line whose monthly cost changes, and the totals
`

// redeployTransitions are the state transitions of one redeploy: its start and rollout, a
// dozen polls of the rollout, and the restore.
const redeployTransitions = 40

// costCommand runs cost and returns the exit status: 0, 1 for bad input or a missing price,
// 2 for bad usage.
func costCommand(args []string, stdout, stderr io.Writer, planner offline.PlanFunc) int {
	flags := offline.NewStackFlags("cost", costUsage, stderr)
	var usage offline.Overrides
	flags.Var(&usage, "usage", "override a usage assumption, key=value (repeatable)")
	asJSON := flags.Bool("json", false, "print the estimate as JSON")
	against := flags.String("against", "", "an earlier cost --json to compare with")
	if code, ok := flags.Parse(args); !ok {
		return code
	}
	if flags.NArg() > 0 {
		fmt.Fprintln(stderr, "cost: unexpected arguments:", strings.Join(flags.Args(), " "))
		flags.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "cost: %v\n", err)
		return 1
	}
	project, raw, err := flags.Config(".")
	if err != nil {
		return fail(err)
	}
	e, err := stackCost(planner, project, flags.Stack, raw, usage)
	if err != nil {
		return fail(fmt.Errorf("stack %s: %w", flags.Stack, err))
	}
	var out interface{ WriteText(io.Writer) } = e
	if *against != "" {
		before, err := readInput("--against", *against, cost.ParseEstimate)
		if err != nil {
			return fail(err)
		}
		out = cost.Compare(before, e)
	}
	if *asJSON {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	out.WriteText(stdout)
	return 0
}

// usageAssumptions are the defaults, then the stack's costUsage, then the overrides, each a
// known key and a non-negative number.
func usageAssumptions(stack map[string]float64, overrides offline.Overrides) (map[string]float64, error) {
	out := map[string]float64{}
	for k, v := range cost.DefaultUsage {
		out[k] = v
	}
	for k, v := range stack {
		out[k] = v
	}
	for _, kv := range overrides {
		key, value, _ := strings.Cut(kv, "=")
		if _, known := cost.DefaultUsage[key]; !known {
			return nil, fmt.Errorf("--usage %s: no such assumption (%v)", key, cost.CheckUsage(key, 0))
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("--usage %s=%s: must be a number", key, value)
		}
		if err := cost.CheckUsage(key, f); err != nil {
			return nil, fmt.Errorf("--usage %s=%s: must be %v", key, value, err)
		}
		out[key] = f
	}
	return out, nil
}

// stackCost plans a stack with planner (the program's planStack, which main.go hands the
// command) and prices the plan, with the stack's usage and the overrides.
func stackCost(planner offline.PlanFunc, project, stack string, raw map[string]string, overrides offline.Overrides) (*cost.Estimate, error) {
	cfg, err := loadConfig(project, stack, raw)
	if err != nil {
		return nil, err
	}
	usage, err := usageAssumptions(cfg.CostUsage, overrides)
	if err != nil {
		return nil, err
	}
	plan, err := planner(project, stack, raw)
	if err != nil {
		return nil, err
	}
	table, err := cost.Prices()
	if err != nil {
		return nil, err
	}
	return priceStack(cfg, plan, table, usage)
}

// priceStack prices what the plan runs and holds.
func priceStack(cfg *Config, plan *offline.Plan, table *cost.Table, u map[string]float64) (*cost.Estimate, error) {
	b := cost.NewBuilder(table, cfg.Prefix(), cfg.Region, u)
	hours := float64(cost.HoursPerMonth)
	inDR := func(r *offline.PlanResource) bool { return strings.Contains(r.Provider, "::aws-dr::") }
	count := func(typ string, dr bool) float64 {
		n := 0
		for _, r := range plan.Resources {
			if r.Type == typ && r.Custom && inDR(r) == dr {
				n++
			}
		}
		return float64(n)
	}

	// Compute: each released service's tasks at their desired count, around the clock.
	arch := "x86"
	if cfg.CPUArchitecture == "ARM64" {
		arch = "arm"
	}
	var spot *cost.Price // Fargate Spot's share of the on-demand price, an estimate
	if cfg.FargateSpot {
		p, err := table.Lookup(cfg.Region, "fargate.spot.discount")
		if err != nil {
			return nil, err
		}
		spot = &p
	}
	for _, svc := range cfg.Services {
		if svc.ImageTag == "" {
			continue
		}
		tasks := float64(svc.DesiredCount)
		// "%d tasks" even for one, so that a change of the count is the same line.
		what := fmt.Sprintf("%s: %d tasks", svc.Name, svc.DesiredCount)
		if spot != nil {
			what += " on Fargate Spot (on-demand price times its share)"
		}
		b.AddShare("compute", what+", vCPU", tasks*float64(svc.CPU)/1024*hours, "fargate.linux."+arch+".vcpu_hour", spot)
		b.AddShare("compute", what+", memory", tasks*float64(svc.Memory)/1024*hours, "fargate.linux."+arch+".gb_hour", spot)
	}

	// The database and the cache.
	d := cfg.Database
	az := "single-az"
	if d.MultiAZ {
		az = "multi-az"
	}
	b.Add("database", "PostgreSQL "+d.InstanceClass+", "+az, hours, "rds.postgres."+d.InstanceClass+"."+az)
	b.Add("database", fmt.Sprintf("gp3 storage, %s", az), float64(d.AllocatedStorage), "rds.storage.gp3."+az)
	b.Add("cache", fmt.Sprintf("%s %s nodes", d.RedisEngine, d.RedisNodeType), float64(d.RedisNodes)*hours,
		"elasticache."+d.RedisEngine+"."+d.RedisNodeType)

	// The network.
	b.Add("network", "application load balancer", count("aws:lb/loadBalancer:LoadBalancer", false)*hours, "alb.hour")
	b.Add("network", "load balancer capacity units", u["albLCU"]*hours, "alb.lcu_hour")
	nats := count("aws:ec2/natGateway:NatGateway", false)
	b.Add("network", "NAT gateways", nats*hours, "nat.hour")
	b.Add("network", "data through the NAT gateways", u["natProcessedGB"], "nat.gb_processed")
	// Public IPv4 addresses: the NAT gateways' and the load balancer's, one per zone.
	b.Add("network", "public IPv4 addresses (NAT gateways, load balancer)", (count("aws:ec2/eip:Eip", false)+float64(availabilityZoneCount))*hours, "public_ipv4.hour")
	b.Add("network", "data out to the internet", u["internetEgressGB"], "dt.internet_out.first_10tb")

	// Storage.
	archived := u["backupsGB"] * u["backupsArchivedShare"]
	b.Add("storage", "uploads, S3 Standard", u["uploadsGB"], "s3.standard.first_50tb")
	b.Add("storage", "backups, S3 Standard", u["backupsGB"]-archived, "s3.standard.first_50tb")
	b.Add("storage", "backups, S3 Glacier Instant Retrieval", archived, "s3.glacier_ir.storage")
	b.Add("storage", "access logs, S3 Standard", u["accessLogsGB"], "s3.standard.first_50tb")
	b.Add("storage", "images, ECR", count("aws:ecr/repository:Repository", false)*u["imageGBPerRepository"], "ecr.storage")

	// Keys and secrets: the program's, and the one RDS keeps the master password in.
	b.Add("security", "KMS keys", count("aws:kms/key:Key", false), "kms.cmk.month")
	b.Add("security", "Secrets Manager secrets (with RDS's)", count("aws:secretsmanager/secret:Secret", false)+1, "secrets.secret.month")

	// Monitoring.
	b.Add("monitoring", "alarms", count("aws:cloudwatch/metricAlarm:MetricAlarm", false), "cw.alarm.standard")
	// Application Auto Scaling creates a high and a low alarm for each target-tracking policy,
	// alarms of the account like any other.
	b.Add("monitoring", "target-tracking alarms (two per scaling policy)", 2*count("aws:appautoscaling/policy:Policy", false), "cw.alarm.standard")
	b.Add("monitoring", "dashboards", count("aws:cloudwatch/dashboard:Dashboard", false), "cw.dashboard")
	b.Add("monitoring", "logs ingested", u["logsIngestGB"], "cw.logs.ingest.standard")
	b.Add("monitoring", "logs stored", u["logsStoredGB"], "cw.logs.storage")
	if count("aws:ec2/flowLog:FlowLog", false) > 0 {
		b.Add("monitoring", "VPC flow logs ingested", u["flowLogsGB"], "cw.logs.vended.ingest (VPC flow logs / WAF logs to CWL)")
	}
	if cfg.ContainerInsights {
		b.Add("monitoring", "Container Insights metrics", u["containerInsightsMetrics"], "cw.custom_metric.first_10k")
	}

	// The redeploy after a secret change (Step Functions bills the state transitions).
	if machines := count("aws:sfn/stateMachine:StateMachine", false); machines > 0 {
		b.Add("monitoring", "redeploys after a secret change (thousands of state transitions)",
			machines*u["redeploysPerMonth"]*redeployTransitions/1000, "sfn.standard.1k_transitions")
	}

	// The firewall.
	if acls := count("aws:wafv2/webAcl:WebAcl", false); acls > 0 {
		b.Add("firewall", "web ACL", acls, "waf.web_acl.month")
		b.Add("firewall", "rules", float64(len(managedRuleGroups)+1), "waf.rule.month")
		b.Add("firewall", "requests inspected (millions)", u["wafRequestsMillions"], "waf.requests.million")
		b.Add("firewall", "blocked and counted requests logged", u["wafLogsGB"], "cw.logs.vended.ingest (VPC flow logs / WAF logs to CWL)")
	}

	// The copies in the DR region.
	if dr := cfg.DrRegion; dr != "" {
		drArchived := archived
		b.AddIn(dr, "dr", "replica of uploads and backups, S3 Standard", u["uploadsGB"]+u["backupsGB"]-drArchived, "s3.standard.first_50tb")
		b.AddIn(dr, "dr", "replica of backups, S3 Glacier Instant Retrieval", drArchived, "s3.glacier_ir.storage")
		b.Add("dr", "objects replicated to "+dr, u["drTransferGB"], "s3.replication.inter_region_to_tokyo")
		b.Add("dr", "database backups replicated to "+dr, u["drBackupTransferGB"], "rds.backup.cross_region.transfer_to_tokyo")
		b.AddIn(dr, "dr", "replicated database backups (about the database's size)", float64(d.AllocatedStorage), "rds.backup.storage")
		b.AddIn(dr, "dr", "images, ECR", count("aws:ecr/repository:Repository", true)*u["imageGBPerRepository"], "ecr.storage")
		b.Add("dr", "images replicated to "+dr, count("aws:ecr/repository:Repository", true)*u["imageGBPerRepository"], "ecr.replication.cross_region")
		b.AddIn(dr, "dr", "KMS key", count("aws:kms/key:Key", true), "kms.cmk.month")
		b.Add("dr", "replication metrics (4 per bucket)", 4*count("aws:s3/bucketReplicationConfig:BucketReplicationConfig", false), "cw.custom_metric.first_10k")
		replicas := 0.0
		for _, r := range plan.Resources {
			if r.Type == "aws:secretsmanager/secret:Secret" && len(r.List("replicas")) > 0 {
				replicas += float64(len(r.List("replicas")))
			}
		}
		b.AddIn(dr, "dr", "secret replicas", replicas, "secrets.replica.month")
	}
	e, err := b.Estimate()
	if err != nil {
		return nil, err
	}
	e.Sort()
	return e, nil
}

// terraformDesign prices the Terraform setup's own design (its README) the way priceStack
// prices a plan, with the same prices and usage: 4 tasks of 1 vCPU and 2 GB, db.t3.medium
// Multi-AZ, 2 x cache.t3.medium (Redis OSS), an application load balancer, 2 NAT gateways, its 7
// alarms and a dashboard, S3 and ECR, one KMS key (its buckets'). What it does not state is left
// out (Container Insights, flow logs, secrets: its database password is a variable).
func terraformDesign(table *cost.Table, region string, storageGB int, u map[string]float64) (*cost.Estimate, error) {
	b := cost.NewBuilder(table, "the Terraform setup's design", region, u)
	hours := float64(cost.HoursPerMonth)
	b.Add("compute", "4 tasks of 1 vCPU, vCPU", 4*hours, "fargate.linux.x86.vcpu_hour")
	b.Add("compute", "4 tasks of 2 GB, memory", 4*2*hours, "fargate.linux.x86.gb_hour")
	b.Add("database", "PostgreSQL db.t3.medium, multi-az", hours, "rds.postgres.db.t3.medium.multi-az")
	b.Add("database", "gp3 storage, multi-az", float64(storageGB), "rds.storage.gp3.multi-az")
	b.Add("cache", "redis cache.t3.medium nodes", 2*hours, "elasticache.redis.cache.t3.medium")
	b.Add("network", "application load balancer", hours, "alb.hour")
	b.Add("network", "load balancer capacity units", u["albLCU"]*hours, "alb.lcu_hour")
	b.Add("network", "NAT gateways", 2*hours, "nat.hour")
	b.Add("network", "data through the NAT gateways", u["natProcessedGB"], "nat.gb_processed")
	b.Add("network", "public IPv4 addresses (NAT gateways, load balancer)", 4*hours, "public_ipv4.hour")
	b.Add("network", "data out to the internet", u["internetEgressGB"], "dt.internet_out.first_10tb")
	archived := u["backupsGB"] * u["backupsArchivedShare"]
	b.Add("storage", "uploads, backups and logs, S3 Standard", u["uploadsGB"]+u["backupsGB"]-archived+u["accessLogsGB"], "s3.standard.first_50tb")
	// Its backups go to Glacier Flexible Retrieval, whose price the file lacks: priced as ours.
	b.Add("storage", "backups archived", archived, "s3.glacier_ir.storage")
	b.Add("storage", "images, ECR", 2*u["imageGBPerRepository"], "ecr.storage")
	b.Add("security", "KMS key", 1, "kms.cmk.month")
	b.Add("monitoring", "alarms", 7, "cw.alarm.standard")
	// Its five target-tracking policies (backend CPU, memory, requests; frontend CPU, memory).
	b.Add("monitoring", "target-tracking alarms (two per scaling policy)", 2*5, "cw.alarm.standard")
	b.Add("monitoring", "dashboards", 1, "cw.dashboard")
	b.Add("monitoring", "logs ingested", u["logsIngestGB"], "cw.logs.ingest.standard")
	b.Add("monitoring", "logs stored", u["logsStoredGB"], "cw.logs.storage")
	return b.Estimate()
}

// extras are the areas of what the Terraform setup has no counterpart of: the firewall and
// the copies in the DR region.
var extras = []string{"firewall", "dr"}

// withoutExtras is an estimate's total less its extras.
func withoutExtras(e *cost.Estimate) float64 {
	total := e.Total
	for area, v := range e.ByArea() {
		if slices.Contains(extras, area) {
			total -= v
		}
	}
	return math.Round(total*100) / 100
}

// costTable is README's cost table: the released stacks and the Terraform setup's design by
// area, at the price file's prices and the stacks' usage assumptions.
func costTable(tf, production, staging *cost.Estimate) string {
	var b strings.Builder
	b.WriteString("| area | Terraform design | production | staging |\n|---|---:|---:|---:|\n")
	tfA, prodA, stagA := tf.ByArea(), production.ByArea(), staging.ByArea()
	cell := func(m map[string]float64, area string) string {
		if v, ok := m[area]; ok {
			return fmt.Sprintf("$%.2f", v)
		}
		return "-"
	}
	for _, area := range cost.Areas {
		if _, ok := prodA[area]; !ok {
			if _, ok := tfA[area]; !ok {
				continue
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", area, cell(tfA, area), cell(prodA, area), cell(stagA, area))
	}
	fmt.Fprintf(&b, "| **total** | **$%.2f** | **$%.2f** | **$%.2f** |\n", tf.Total, production.Total, staging.Total)
	fmt.Fprintf(&b, "| without the firewall and the DR copies | $%.2f | $%.2f (%.2fx the design) | $%.2f |\n",
		tf.Total, withoutExtras(production), withoutExtras(production)/tf.Total, withoutExtras(staging))
	fmt.Fprintf(&b, "| of which priced with derived prices (estimates) | $%.2f | $%.2f | $%.2f |\n", tf.Estimated, production.Estimated, staging.Estimated)
	fmt.Fprintf(&b, "\nStaging costs %.0f%% of production. The usage assumed (`go run . cost` prints it; a stack's `costUsage` and `--usage` change it):\n\n", 100*staging.Total/production.Total)
	b.WriteString("| assumption | production | staging |\n|---|---:|---:|\n")
	for _, k := range slices.Sorted(maps.Keys(production.Assumptions)) {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k, strconv.FormatFloat(production.Assumptions[k], 'f', -1, 64),
			strconv.FormatFloat(staging.Assumptions[k], 'f', -1, 64))
	}
	return b.String()
}

// billedBy says, for every AWS resource type the stacks plan, how the cost prices it: by a line
// of priceStack ("priced: ..."), or why AWS bills it nothing by itself. A type the stacks come to
// plan joins it, or a test fails: nothing goes unpriced by oversight.
var billedBy = map[string]string{
	"aws:ecs/service:Service":                                                         "priced: its tasks (Fargate vCPU and memory hours)",
	"aws:ecs/taskDefinition:TaskDefinition":                                           "free: the tasks are priced with the service",
	"aws:ecs/cluster:Cluster":                                                         "priced: Container Insights metrics when on; the cluster itself is free",
	"aws:ecs/clusterCapacityProviders:ClusterCapacityProviders":                       "free",
	"aws:rds/instance:Instance":                                                       "priced: instance hours and gp3 storage",
	"aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": "priced: transfer and storage of the replicated backups",
	"aws:rds/parameterGroup:ParameterGroup":                                           "free",
	"aws:rds/subnetGroup:SubnetGroup":                                                 "free",
	"aws:elasticache/replicationGroup:ReplicationGroup":                               "priced: node hours (snapshots within the free retention)",
	"aws:elasticache/subnetGroup:SubnetGroup":                                         "free",
	"aws:lb/loadBalancer:LoadBalancer":                                                "priced: hours, capacity units and its public addresses",
	"aws:lb/listener:Listener":                                                        "free: in the load balancer's capacity units",
	"aws:lb/listenerRule:ListenerRule":                                                "free: in the load balancer's capacity units",
	"aws:lb/targetGroup:TargetGroup":                                                  "free",
	"aws:ec2/natGateway:NatGateway":                                                   "priced: hours and data processed",
	"aws:ec2/eip:Eip":                                                                 "priced: public IPv4 hours",
	"aws:ec2/vpc:Vpc":                                                                 "free",
	"aws:ec2/subnet:Subnet":                                                           "free",
	"aws:ec2/routeTable:RouteTable":                                                   "free",
	"aws:ec2/route:Route":                                                             "free",
	"aws:ec2/routeTableAssociation:RouteTableAssociation":                             "free",
	"aws:ec2/internetGateway:InternetGateway":                                         "free: data out is priced as data out to the internet",
	"aws:ec2/securityGroup:SecurityGroup":                                             "free",
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":                               "free",
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":                       "free",
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":                         "free",
	"aws:ec2/vpcEndpoint:VpcEndpoint":                                                 "free: an S3 gateway endpoint",
	"aws:ec2/flowLog:FlowLog":                                                         "priced: the flow logs ingested",
	"aws:s3/bucketV2:BucketV2":                                                        "priced: storage by class (requests are left out: cents at these volumes)",
	"aws:s3/bucketVersioningV2:BucketVersioningV2":                                    "free: old versions are in the stored GB",
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":            "free: transitions are cents at these volumes",
	"aws:s3/bucketLoggingV2:BucketLoggingV2":                                          "priced: the access logs stored",
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                          "free",
	"aws:s3/bucketPolicy:BucketPolicy":                                                "free",
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                          "free",
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": "free: bucket keys keep KMS requests to cents",
	"aws:s3/bucketReplicationConfig:BucketReplicationConfig":                                     "priced: transfer to the DR region and its metrics",
	"aws:ecr/repository:Repository":                                                              "priced: image storage",
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                                                    "free",
	"aws:ecr/replicationConfiguration:ReplicationConfiguration":                                  "priced: the images' transfer to the DR region",
	"aws:kms/key:Key":                                                 "priced: a month per key (requests are cents)",
	"aws:kms/alias:Alias":                                             "free",
	"aws:secretsmanager/secret:Secret":                                "priced: a month per secret and per replica",
	"aws:secretsmanager/secretVersion:SecretVersion":                  "free",
	"aws:cloudwatch/metricAlarm:MetricAlarm":                          "priced: a month per alarm",
	"aws:cloudwatch/dashboard:Dashboard":                              "priced: a month per dashboard",
	"aws:cloudwatch/logGroup:LogGroup":                                "priced: logs ingested and stored",
	"aws:cloudwatch/logResourcePolicy:LogResourcePolicy":              "free",
	"aws:cloudwatch/eventRule:EventRule":                              "free: AWS services' events on the default bus",
	"aws:cloudwatch/eventTarget:EventTarget":                          "free",
	"aws:sfn/stateMachine:StateMachine":                               "priced: its state transitions",
	"aws:sns/topic:Topic":                                             "free: e-mail notifications within the free tier at these volumes",
	"aws:sns/topicPolicy:TopicPolicy":                                 "free",
	"aws:sns/topicSubscription:TopicSubscription":                     "free",
	"aws:iam/role:Role":                                               "free",
	"aws:iam/rolePolicy:RolePolicy":                                   "free",
	"aws:appautoscaling/target:Target":                                "free",
	"aws:appautoscaling/policy:Policy":                                "priced: the two alarms Application Auto Scaling creates for it",
	"aws:acm/certificate:Certificate":                                 "free: a public ACM certificate",
	"aws:acm/certificateValidation:CertificateValidation":             "free: no AWS resource",
	"aws:route53/record:Record":                                       "free: alias queries to the load balancer are not billed; the zone is the team's",
	"aws:wafv2/webAcl:WebAcl":                                         "priced: the web ACL, its rules and the requests",
	"aws:wafv2/webAclAssociation:WebAclAssociation":                   "free",
	"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "priced: the logs of what it blocks or counts",
}
