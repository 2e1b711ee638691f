package main

import (
	"coldchain/internal/cost"
	"coldchain/internal/limits"
	"fmt"
	"net/netip"
	pathpkg "path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// This file holds the validation of Config: every rule a value must meet, with the key, the
// value and what is allowed in each problem it reports.

// validate checks every value against what AWS and this program allow, and returns every
// problem found, in a stable order.
func (c *Config) validate() []Problem {
	var p problems
	p.check(namePattern.MatchString(c.ProjectName), "projectName", c.ProjectName,
		"lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen")
	p.check(namePattern.MatchString(c.Environment), "environment", c.Environment,
		"lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen")
	// Every derived bucket name is "<prefix>-<purpose>-<account id>" and must fit S3's 63.
	if n := len(c.Prefix()); n > maxPrefixLength {
		p.add("projectName", c.ProjectName, fmt.Sprintf(
			"a name prefix \"<projectName>-<environment>\" of at most %d characters (%q has %d)",
			maxPrefixLength, c.Prefix(), n))
	}
	p.check(regionPattern.MatchString(c.Region), "aws:region", c.Region, "an AWS region name such as ap-northeast-2")
	for _, id := range c.AllowedAccountIDs {
		p.check(accountPattern.MatchString(id), "allowedAccountIds", id, "12-digit AWS account ids")
	}
	p.checkTags(c.Tags)
	p.checkDrRegion(c)
	p.checkAvailabilityZones(c)
	p.checkAccountSettings(c)

	if p.checkVpcCidr(c.VpcCidr) {
		if c.SubnetCidrs == nil {
			p.checkSubnetCapacity(c.VpcCidr, availabilityZoneCount, c.maxTasks()...)
		} else {
			p.checkSubnetCidrs(c.VpcCidr, c.SubnetCidrs, availabilityZoneCount, c.maxTasks()...)
		}
	}
	p.check(slices.Contains(natStrategies, c.NatGateways), "natGateways", c.NatGateways,
		"one of "+strings.Join(natStrategies, ", ")+" (private subnets need a NAT gateway for egress)")
	p.checkRetention("flowLogRetentionDays", c.FlowLogRetentionDays)

	p.checkDBParameters(c.Database.Parameters)
	for _, key := range sortedKeys(c.CostUsage) {
		if err := cost.CheckUsage(key, c.CostUsage[key]); err != nil {
			p.add("costUsage", fmt.Sprintf("%s=%v", key, c.CostUsage[key]), err.Error())
		}
	}
	if c.FargateSpot && c.CPUArchitecture == "ARM64" {
		p.add("fargateSpot", "true", "false with cpuArchitecture ARM64: Fargate Spot runs x86 tasks only")
	}
	p.check(isInstanceClass("db", c.Database.InstanceClass), "dbInstanceClass", c.Database.InstanceClass,
		"an RDS instance class of the current generation, such as db.t3.medium or db.r6g.large")
	p.check(isInstanceClass("cache", c.Database.RedisNodeType), "redisNodeType", c.Database.RedisNodeType,
		"an ElastiCache node type of the current generation, such as cache.t3.medium or cache.r7g.large")

	if c.Routing.DomainName != "" {
		p.check(isDomainName(c.Routing.DomainName), "domainName", c.Routing.DomainName,
			"a fully qualified lowercase domain name such as app.example.com, or unset for HTTP only")
	}
	if c.Routing.TakeOverDomain && c.Routing.DomainName == "" {
		p.add("takeOverDomain", "true", "false without domainName: there is no record to take over")
	}
	if c.AlarmEmail == "" {
		p.add("alarmEmail", "", "an e-mail address that receives the alarms (required)")
	} else {
		p.check(emailPattern.MatchString(c.AlarmEmail), "alarmEmail", c.AlarmEmail, "an e-mail address such as ops@example.com")
	}

	usedBy := map[string]string{}
	for _, b := range []struct{ key, value string }{
		{"uploadsBucketName", c.UploadsBucketName},
		{"backupsBucketName", c.BackupsBucketName},
		{"logsBucketName", c.LogsBucketName},
	} {
		if b.value == "" {
			continue
		}
		if why := limits.BucketNameProblem(b.value); why != "" {
			p.add(b.key, b.value, "a valid S3 bucket name, or unset to derive one: "+why)
		}
		if other, taken := usedBy[b.value]; taken {
			p.add(b.key, b.value, "a name other than "+other+"'s: each bucket needs its own")
		}
		usedBy[b.value] = b.key
	}
	p.validateData(c)
	if c.RolePermissionsBoundary != "" {
		p.check(iamPolicyNamePattern.MatchString(c.RolePermissionsBoundary), "rolePermissionsBoundary", c.RolePermissionsBoundary,
			"the name of an IAM managed policy of the account (1 to 128 letters, digits and +=,.@_-): the account stack's <prefix>-role-boundary")
	}
	p.validateServices(c)
	p.validateWorkers(c)
	p.checkDistinctServiceNames(c)
	p.validateAlarms(c)
	return p
}

// loadConfig reads and validates the configuration of a stack from its raw config map (the keys
// as the Pulumi CLI passes them, "coldchain:vpcCidr", "aws:region"). It reports every problem at
// once, and returns no Config when there is any.
func loadConfig(project, stack string, raw map[string]string) (*Config, error) {
	c, r := readConfig(project, stack, raw)
	r.rejectUnknownKeys()
	// A value of the wrong type was replaced by its default, which validate accepts, so no key
	// is reported twice. An encrypted value is unknown offline: it is checked by "pulumi up".
	var all []Problem
	for _, p := range append(r.problems, c.validate()...) {
		if !r.secret[p.Key] {
			all = append(all, p)
		}
	}
	if len(all) > 0 {
		return nil, &ConfigError{Problems: all}
	}
	return c, nil
}

// validateData checks the keys of the data and storage tiers.
func (p *problems) validateData(c *Config) {
	d := c.Database
	p.checkRetention("logRetentionDays", c.LogRetentionDays)
	p.checkInt("kmsDeletionWindowDays", c.KMSDeletionWindowDays, 7, 30)
	if c.SecretRecoveryDays != 0 {
		p.checkInt("secretRecoveryDays", c.SecretRecoveryDays, 7, 30)
	}

	if _, ok := limits.PostgresFamilies[d.EngineVersion]; !ok {
		p.add("dbEngineVersion", d.EngineVersion, "a PostgreSQL major version RDS supports: "+strings.Join(sortedKeys(limits.PostgresFamilies), ", "))
	}
	p.check(pgIdentifier.MatchString(d.Name) && !isReservedWord(d.Name), "dbName", d.Name,
		"1 to 63 letters, digits and underscores, starting with a letter, and not a reserved word")
	p.check(pgIdentifier.MatchString(d.Username) && !isReservedWord(d.Username) && !strings.HasPrefix(d.Username, "rds"),
		"dbUsername", d.Username,
		"1 to 63 letters, digits and underscores, starting with a letter, not a reserved word (postgres, user, admin, ...) and not starting with rds")
	// RDS gp3 storage starts at 20 GiB; autoscaling needs a ceiling at least 10% above it.
	p.checkInt("dbAllocatedStorage", d.AllocatedStorage, 20, 65536)
	if d.MaxAllocatedStorage*10 < d.AllocatedStorage*11 || d.MaxAllocatedStorage > 65536 {
		p.add("dbMaxAllocatedStorage", strconv.Itoa(d.MaxAllocatedStorage), fmt.Sprintf(
			"at least 10%% above dbAllocatedStorage (%d GiB) and at most 65536", d.AllocatedStorage))
	}
	p.checkInt("dbBackupRetentionDays", d.BackupRetentionDays, 7, 35)
	p.checkWindows("dbBackupWindow", d.BackupWindow, "dbMaintenanceWindow", d.MaintenanceWindow, 30)
	if d.PerformanceInsights && isSmallInstance(d.InstanceClass) {
		p.add("dbPerformanceInsights", "true", "false for "+d.InstanceClass+" (Performance Insights needs a class larger than small)")
	}

	if versions, ok := cacheVersions[d.RedisEngine]; !ok {
		p.add("redisEngine", d.RedisEngine, "redis (Redis OSS) or valkey")
	} else {
		p.check(slices.Contains(versions, d.RedisEngineVersion), "redisEngineVersion", d.RedisEngineVersion,
			"a version of "+d.RedisEngine+" ElastiCache runs: "+strings.Join(versions, ", "))
	}
	p.checkInt("redisNodes", d.RedisNodes, 1, 6)
	switch {
	case d.RedisMultiAZ && !d.RedisAutomaticFailover:
		p.add("redisMultiAz", "true", "false unless redisAutomaticFailover is true (ElastiCache Multi-AZ requires automatic failover)")
	case d.RedisAutomaticFailover && d.RedisNodes < 2:
		p.add("redisAutomaticFailover", "true", fmt.Sprintf("false with redisNodes = %d (failover needs a replica)", d.RedisNodes))
	}
	p.checkInt("redisSnapshotRetentionDays", d.RedisSnapshotRetentionDays, 0, 35)
	p.checkWindows("redisSnapshotWindow", d.RedisSnapshotWindow, "redisMaintenanceWindow", d.RedisMaintenanceWindow, 60)
	if d.FinalSnapshot && d.RedisSnapshotRetentionDays == 0 {
		// ElastiCache takes no snapshot, final or otherwise, of a group that keeps none.
		p.add("redisSnapshotRetentionDays", "0", "at least 1 while finalSnapshot is true")
	}

	p.checkInt("noncurrentVersionExpirationDays", c.NoncurrentVersionExpirationDays, 1, 3650)
	p.checkInt("backupsArchiveAfterDays", c.BackupsArchiveAfterDays, 1, 3650)
	p.checkInt("logsExpirationDays", c.LogsExpirationDays, 1, 3650)
	p.check(rdsIdentifierPattern.MatchString(d.Identifier) && !strings.Contains(d.Identifier, "--"), "dbIdentifier", d.Identifier,
		"1 to 63 lowercase letters, digits and hyphens, starting with a letter, without two hyphens in a row or one at the end")
	p.checkStorageKey("dbKmsKey", d.KmsKey, c.Region, false)
	p.checkStorageKey("redisKmsKey", d.RedisKmsKey, c.Region, true)
	p.checkRestoreFrom(c)
	p.check(c.EcrEncryption == "KMS" || c.EcrEncryption == "AES256", "ecrEncryption", c.EcrEncryption,
		"KMS (the data key) or AES256 (S3-managed keys, for repositories adopted with them)")
	p.check(ecsNamePattern.MatchString(c.ClusterName), "clusterName", c.ClusterName,
		"1 to 255 letters, digits, hyphens and underscores")
	p.checkInt("ecrMaxImages", c.EcrMaxImages, 1, 1000)
	p.check(c.EcrImageTagMutability == "IMMUTABLE" || c.EcrImageTagMutability == "MUTABLE",
		"ecrImageTagMutability", c.EcrImageTagMutability, "IMMUTABLE or MUTABLE")
}

// deployBlockers are values that are valid but must not reach AWS: placeholders left from the
// shipped stack files, and a protected (production-grade) stack that would serve the
// application, its API included, over plain HTTP. "pulumi up" and "pulumi preview" stop on
// them; the offline plan, which is how a new team first meets the program, lists them as
// warnings.
func (c *Config) deployBlockers() []Problem {
	var p problems
	if c.AlarmEmail != "" {
		_, domain, _ := strings.Cut(c.AlarmEmail, "@")
		p.check(!isPlaceholderDomain(domain), "alarmEmail", c.AlarmEmail, "the address of whoever answers the alarms, not a placeholder")
	}
	for _, d := range []struct{ key, value string }{{"domainName", c.Routing.DomainName}, {"hostedZoneName", c.Routing.HostedZoneName}} {
		if d.value != "" {
			p.check(!isPlaceholderDomain(d.value), d.key, d.value, "your own domain, not a placeholder")
		}
	}
	if c.Protect && !c.Routing.HTTPS() && !c.Routing.AllowPlainHTTP {
		p.add("domainName", "", "set on a protected stack (protect: true), which must not serve plain HTTP: a domain with a "+
			"Route 53 zone in this account (the certificate is issued for it), or certificateArn; "+
			"or allowPlainHttp: true to serve plain HTTP on purpose")
	}
	return p
}

// warnings are what deserves a word at deploy time but is not an error.
func (c *Config) warnings() []string {
	var w []string
	if !c.Routing.HTTPS() && (!c.Protect || c.Routing.AllowPlainHTTP) {
		w = append(w, "neither domainName nor certificateArn is set: the load balancer serves plain HTTP only. "+
			"Set domainName (with a Route 53 zone in this account) for HTTPS.")
	}
	for _, svc := range c.Services {
		if svc.ImageTag == "" {
			w = append(w, svc.Name+" is not deployed: "+svc.Name+"ImageTag is unset. Push its image and release it "+
				"(scripts/release.sh; docs/runbook.md, \"First deployment\").")
		}
	}
	return append(w, c.accountSettingsWarnings()...)
}

// isPlaceholderDomain is true for the names reserved for examples and tests (RFC 2606, 6761).
func isPlaceholderDomain(domain string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, reserved := range []string{"example.com", "example.net", "example.org", "example", "test", "invalid", "localhost"} {
		if domain == reserved || strings.HasSuffix(domain, "."+reserved) {
			return true
		}
	}
	return false
}

func (p *problems) checkInt(key string, value, lo, hi int) {
	p.check(value >= lo && value <= hi, key, strconv.Itoa(value), fmt.Sprintf("a whole number from %d to %d", lo, hi))
}

// checkRetention accepts only the retention periods CloudWatch Logs offers; "never expire" is
// not offered, because unbounded log storage is a cost nobody chose.
func (p *problems) checkRetention(key string, days int) {
	if !slices.Contains(limits.LogRetentionDays, days) {
		p.add(key, strconv.Itoa(days), "one of the CloudWatch Logs retention periods "+limits.JoinInts(limits.LogRetentionDays))
	}
}

func (p *problems) checkFargate(cpuKey, memoryKey string, cpu, memory int) {
	if !slices.Contains(limits.FargateCPUs(), cpu) {
		p.add(cpuKey, strconv.Itoa(cpu), "a Fargate CPU size: "+limits.JoinInts(limits.FargateCPUs()))
		return
	}
	if !limits.ValidFargatePair(cpu, memory) {
		p.add(memoryKey, strconv.Itoa(memory), fmt.Sprintf("a Fargate memory size for %d CPU units: %s",
			cpu, limits.FargateMemoryRange(cpu)))
	}
}

// checkVpcCidr reports a VPC range AWS or the subnet layout cannot take, and says whether the
// range is valid.
func (p *problems) checkVpcCidr(cidr string) bool {
	prefix, err := netip.ParsePrefix(cidr)
	allowed := "an IPv4 network from /16 to /20 in private (RFC 1918) space, such as 10.0.0.0/16"
	switch {
	case err != nil || !prefix.Addr().Is4():
		p.add("vpcCidr", cidr, allowed)
	case prefix.Masked() != prefix:
		p.add("vpcCidr", cidr, fmt.Sprintf("a network address (%s, not %s)", prefix.Masked(), cidr))
	case prefix.Bits() < 16 || prefix.Bits() > 20 || !prefix.Addr().IsPrivate():
		p.add("vpcCidr", cidr, allowed)
	default:
		return true
	}
	return false
}

// checkSubnetCapacity reports a VPC whose subnet layout does not hold the tasks at their
// maximum scale (see taskAddressesNeeded).
func (p *problems) checkSubnetCapacity(cidr string, zones int, maxTasks ...int) {
	layout, err := newSubnetLayout(cidr, zones, nil)
	if err != nil {
		p.add("vpcCidr", cidr, "a range the subnet layout fits: "+err.Error())
		return
	}
	if need, have := taskAddressesNeeded(maxTasks...), layout.privateCapacity(); need > have {
		p.add("vpcCidr", cidr, fmt.Sprintf(
			"a range whose private subnets hold the tasks at maximum scale: %d addresses (every task at its maximum, "+
				"twice during a deployment, in one zone), but a private subnet of %s has %d", need, cidr, have))
	}
}

// checkAvailabilityZones checks configured zones: availabilityZoneCount distinct zones of the
// stack's region, by name ("ap-northeast-2c": the region and a letter). Whether the account
// has them without opt-in is AWS's to say: lookupAccount asks.
func (p *problems) checkAvailabilityZones(c *Config) {
	zones := c.AvailabilityZones
	if len(zones) == 0 {
		return
	}
	allowed := fmt.Sprintf("%d distinct zones of %s by name, such as [\"%sa\", \"%sc\"]", availabilityZoneCount, c.Region, c.Region, c.Region)
	if len(zones) != availabilityZoneCount || zones[0] == zones[1] {
		p.add("availabilityZones", "["+strings.Join(zones, ", ")+"]", allowed)
		return
	}
	for _, zone := range zones {
		letter, ok := strings.CutPrefix(zone, c.Region)
		if !ok || len(letter) != 1 || letter[0] < 'a' || letter[0] > 'z' {
			p.add("availabilityZones", zone, allowed)
		}
	}
}

// checkDrRegion checks the disaster-recovery region: a region name, another region than the
// stack's, of the same partition, and one whose bucket replicas' names ("<bucket>-<region>")
// fit S3's 63 characters.
func (p *problems) checkDrRegion(c *Config) {
	dr := c.DrRegion
	if dr == "" {
		return
	}
	partition := func(region string) string {
		switch {
		case strings.HasPrefix(region, "cn-"):
			return "aws-cn"
		case strings.HasPrefix(region, "us-gov-"):
			return "aws-us-gov"
		}
		return "aws"
	}
	switch {
	case !regionPattern.MatchString(dr):
		p.add("drRegion", dr, "an AWS region name such as ap-northeast-1, or unset for no copies in another region")
	case dr == c.Region:
		p.add("drRegion", dr, "another region than aws:region ("+c.Region+"): copies in the same region survive nothing it does not")
	case partition(dr) != partition(c.Region):
		p.add("drRegion", dr, "a region of the partition of aws:region ("+partition(c.Region)+"): replication does not cross partitions")
	default:
		for _, b := range []struct{ key, configured, purpose string }{
			{"uploadsBucketName", c.UploadsBucketName, "uploads"}, {"backupsBucketName", c.BackupsBucketName, "backups"},
			{"logsBucketName", c.LogsBucketName, "logs"}, // the replicas' access logs go to its namesake there
		} {
			name := bucketName(b.configured, c.Prefix(), b.purpose, strings.Repeat("0", 12))
			if replica := replicaName(name, dr); len(replica) > 63 {
				p.add("drRegion", dr, fmt.Sprintf("a region whose replica of the %s bucket, %q, fits S3's 63 characters "+
					"(it has %d; shorten %s or the prefix)", b.purpose, replica, len(replica), b.key))
			}
		}
	}
}

// checkSubnetCidrs checks an explicit subnet layout: all three tiers, one subnet per zone,
// each a network of /16 to /28 inside the VPC, no two overlapping, public subnets a load
// balancer fits in and private subnets that hold the tasks at maximum scale.
func (p *problems) checkSubnetCidrs(vpcCidr string, layout map[string][]string, zones int, maxTasks ...int) {
	vpc := netip.MustParsePrefix(vpcCidr)
	type placed struct {
		key    string
		prefix netip.Prefix
	}
	var all []placed
	ok := true
	for _, t := range subnetTiers {
		key := t.name + "SubnetCidrs"
		cidrs, set := layout[t.name]
		value := strings.Join(cidrs, ",")
		switch {
		case !set:
			p.add(key, "", "set with the other two tiers' lists: an explicit layout gives every subnet")
			ok = false
			continue
		case len(cidrs) != zones:
			p.add(key, value, fmt.Sprintf("%d subnets, one per availability zone in zone order (for %s)", zones, t.holds))
			ok = false
			continue
		}
		for _, c := range cidrs {
			b, err := netip.ParsePrefix(c)
			switch {
			case err != nil || !b.Addr().Is4() || b.Masked() != b:
				p.add(key, c, "IPv4 network addresses such as 10.0.1.0/24")
			case b.Bits() < 16 || b.Bits() > 28:
				p.add(key, c, "subnets from /16 to /28 (AWS's limits)")
			case !contains(vpc, b):
				p.add(key, c, "subnets inside the VPC "+vpcCidr+" (vpcCidr)")
			case t.name == "public" && (b.Bits() > albMinSubnetBits || usableAddresses(b)-1 < albMinFreeAddresses):
				p.add(key, c, fmt.Sprintf("a /%d or larger: a load balancer needs %d free addresses in each of its subnets",
					albMinSubnetBits, albMinFreeAddresses))
			default:
				for _, other := range all {
					if other.prefix.Overlaps(b) {
						p.add(key, c, fmt.Sprintf("a range that overlaps no other subnet (it overlaps %s of %s)", other.prefix, other.key))
						ok = false
					}
				}
				all = append(all, placed{key, b})
				continue
			}
			ok = false
		}
	}
	if !ok {
		return
	}
	l, err := newSubnetLayout(vpcCidr, zones, layout)
	if err != nil {
		p.add("privateSubnetCidrs", strings.Join(layout["private"], ","), "a layout that holds: "+err.Error())
		return
	}
	if need, have := taskAddressesNeeded(maxTasks...), l.privateCapacity(); need > have {
		p.add("privateSubnetCidrs", strings.Join(layout["private"], ","), fmt.Sprintf(
			"private subnets that hold the tasks at maximum scale: %d addresses (every task at its maximum, twice during "+
				"a deployment, in one zone), but the smallest has %d", need, have))
	}
}

// checkStorageKey checks the key configured for a data store: unset (the data key), a KMS key
// ARN of the stack's region, or, where awsOwned, ElastiCache's own key.
// automatedBackupsArnPattern is the ARN of an instance's automated backups:
// arn:aws:rds:<region>:<account>:auto-backup:ab-<id>.
var automatedBackupsArnPattern = regexp.MustCompile(`^arn:aws(?:-[a-z]+)*:rds:([a-z0-9-]+):\d{12}:auto-backup:ab-[a-z0-9]+$`)

// checkRestoreFrom checks the automated backups a new database is restored from: their ARN, of
// this region, and the key that encrypts them, which the restored database keeps (RDS restores
// to a point in time under the backups' own key) and config must name, or the next update
// would replace the database to change its key.
func (p *problems) checkRestoreFrom(c *Config) {
	from := c.Database.RestoreFrom
	if from == "" {
		return
	}
	m := automatedBackupsArnPattern.FindStringSubmatch(from)
	p.check(m != nil && m[1] == c.Region, "dbRestoreFrom", from,
		"unset, or the ARN of automated backups in "+c.Region+" (arn:aws:rds:"+c.Region+":<account>:auto-backup:ab-<id>, from aws rds describe-db-instance-automated-backups)")
	p.check(c.Database.KmsKey != "", "dbKmsKey", "", "with dbRestoreFrom, the ARN of the key that encrypts the backups (the drKeyArn output of the stack they come from): the restored database keeps it")
}

func (p *problems) checkStorageKey(key, value, region string, awsOwned bool) {
	if value == "" || awsOwned && value == awsOwnedKey {
		return
	}
	m := kmsKeyArnPattern.FindStringSubmatch(value)
	allowed := "unset (the stack's data key) or the ARN of a KMS key of " + region + " (arn:aws:kms:" + region + ":<account>:key/<id>)"
	if awsOwned {
		allowed += ", or " + awsOwnedKey
	}
	p.check(m != nil && m[1] == region, key, value, allowed)
}

// checkTags applies AWS's tag rules: at most 50 tags on a resource (three are ours), keys up to
// 128 and values up to 256 characters, and the aws: prefix reserved.
func (p *problems) checkTags(tags map[string]string) {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(tags) > 47 {
		p.add("tags", fmt.Sprintf("%d tags", len(tags)), "at most 47 tags (AWS allows 50 and the program sets 3)")
	}
	for _, k := range keys {
		v := tags[k]
		switch {
		case k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") || !tagPattern.MatchString(k):
			p.add("tags", k, "tag keys of 1 to 128 letters, digits, spaces and _.:/=+-@, not starting with aws:")
		case len(v) > 256 || !tagPattern.MatchString(v) && v != "":
			p.add("tags", k+"="+v, "tag values of at most 256 letters, digits, spaces and _.:/=+-@")
		case k == "Project" || k == "Environment" || k == "ManagedBy":
			p.add("tags", k, "a key other than Project, Environment and ManagedBy, which the program sets")
		}
	}
}

var (
	namePattern    = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// RDS instance identifiers; ECS cluster and service names; ECR repository names; KMS key
	// ARNs (single- or multi-Region keys).
	rdsIdentifierPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	ecsNamePattern       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	ecrNamePattern       = regexp.MustCompile(`^([a-z0-9]+([._-][a-z0-9]+)*/)*[a-z0-9]+([._-][a-z0-9]+)*$`)
	kmsKeyArnPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):[0-9]{12}:key/(mrk-)?[a-f0-9-]{32,36}$`)
	emailPattern         = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$`)
	labelPattern         = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	tagPattern           = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// isInstanceClass matches "<family>.<class>.<size>" and leaves out the previous-generation
// classes (t1, m1, m2, c1) that support neither encryption at rest nor the current engines.
func isInstanceClass(family, value string) bool {
	m := regexp.MustCompile(`^` + family + `\.([a-z][a-z0-9-]*)\.([a-z0-9]+)$`).FindStringSubmatch(value)
	if m == nil || slices.Contains([]string{"t1", "m1", "m2", "c1"}, m[1]) {
		return false
	}
	// The sizes RDS and ElastiCache offer: burstable classes from nano to 2xlarge, the others
	// from large up (and metal); "db.t3.huge" names no class.
	if strings.HasPrefix(m[1], "t") {
		return slices.Contains([]string{"nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"}, m[2])
	}
	return regexp.MustCompile(`^(large|xlarge|(2|3|4|6|8|9|12|16|18|24|32|48)xlarge|metal)$`).MatchString(m[2])
}

func isDomainName(name string) bool {
	labels := strings.Split(name, ".")
	if len(name) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !labelPattern.MatchString(l) {
			return false
		}
	}
	// The top-level domain is never all digits, which also rules out IP addresses.
	_, err := strconv.Atoi(labels[len(labels)-1])
	return err != nil
}

// maxPrefixLength keeps "<prefix>-uploads-<12-digit account id>" within S3's 63 characters.
const maxPrefixLength = 63 - len("-uploads-") - 12

// validateServices checks the keys of every service, "<name><Key>".
func (p *problems) validateServices(c *Config) {
	for _, svc := range c.Services {
		key := func(k string) string { return svc.Name + k }
		p.checkFargate(key("Cpu"), key("Memory"), svc.CPU, svc.Memory)
		if svc.Worker {
			p.check(svc.QueueName == "" || sqsQueueNamePattern.MatchString(svc.QueueName), key("QueueName"), svc.QueueName,
				"an SQS queue name: 1 to 80 letters, digits, - and _ (a FIFO queue's ending in .fifo), or unset")
			p.checkInt(key("MessagesPerTask"), svc.MessagesPerTask, 1, 100000)
			// SQS keeps a message 14 days at most: an older one cannot exist.
			p.checkInt(key("QueueAgeAlarmSeconds"), svc.QueueAgeAlarmSeconds, 60, 1209600)
			if svc.QueueName != "" && !c.ContainerInsights {
				p.add(key("QueueName"), svc.QueueName, "unset with containerInsights false: the queue's scaling divides by the "+
					"service's RunningTaskCount, which Container Insights publishes")
			}
		} else {
			p.checkInt(key("Port"), svc.Port, 1, 65535)
			p.check(healthPathPattern.MatchString(svc.HealthCheckPath) && len(svc.HealthCheckPath) <= 1024, key("HealthCheckPath"), svc.HealthCheckPath,
				"a path starting with /, of at most 1024 characters")
		}
		p.check(svc.ImageTag == "" || imageTagPattern.MatchString(svc.ImageTag), key("ImageTag"), svc.ImageTag,
			"an image tag: up to 128 letters, digits, _ . and -, not starting with . or -; or unset before the first release")
		p.check(svc.User == "" || userPattern.MatchString(svc.User), key("User"), svc.User,
			"a user or uid, optionally with a group (1000, 1000:1000, app), or empty for the image's user")
		p.checkInt(key("MinTasks"), svc.MinTasks, 1, 100)
		if svc.MaxTasks < svc.MinTasks || svc.MaxTasks > 100 {
			p.add(key("MaxTasks"), strconv.Itoa(svc.MaxTasks), fmt.Sprintf("from %s (%d) to 100", key("MinTasks"), svc.MinTasks))
		}
		if svc.DesiredCount < svc.MinTasks || svc.DesiredCount > svc.MaxTasks {
			p.add(key("DesiredCount"), strconv.Itoa(svc.DesiredCount), fmt.Sprintf("from %s (%d) to %s (%d)",
				key("MinTasks"), svc.MinTasks, key("MaxTasks"), svc.MaxTasks))
		}
		p.checkWritablePaths(key("WritablePaths"), svc.WritablePaths)
		p.check(ecsNamePattern.MatchString(svc.ServiceName), key("ServiceName"), svc.ServiceName,
			"1 to 255 letters, digits, hyphens and underscores")
		p.check(logGroupNamePattern.MatchString(svc.LogGroupName) && !strings.HasPrefix(svc.LogGroupName, "aws/"),
			key("LogGroupName"), svc.LogGroupName, "a CloudWatch log group name: 1 to 512 letters, digits and . - _ / #, not starting with aws/")
		p.check(len(svc.RepositoryName) >= 2 && len(svc.RepositoryName) <= 256 && ecrNamePattern.MatchString(svc.RepositoryName),
			key("RepositoryName"), svc.RepositoryName,
			"an ECR repository name: 2 to 256 lowercase letters, digits and . _ - between them, in parts separated by /")
		p.checkInt(key("CpuTarget"), svc.CPUTarget, 10, 95)
		p.checkInt(key("MemoryTarget"), svc.MemoryTarget, 10, 95)
		if svc.RequestsPerTarget != 0 {
			p.checkInt(key("RequestsPerTarget"), svc.RequestsPerTarget, 1, 100000)
		}
		if !svc.DefaultRoute && !svc.Worker {
			if n := len(svc.PathPatterns); n < 1 || n > 5 {
				p.add(key("PathPatterns"), strings.Join(svc.PathPatterns, ","), "1 to 5 path patterns (an ALB rule condition takes at most 5)")
			}
			for _, pattern := range svc.PathPatterns {
				p.check(pathPatternPattern.MatchString(pattern), key("PathPatterns"), pattern,
					"path patterns starting with /, of at most 128 letters, digits and _-.$/~\"'@:+&*?")
			}
		}
		p.checkServiceSecrets(svc, c.Region)
	}
	p.check(c.CPUArchitecture == "X86_64" || c.CPUArchitecture == "ARM64", "cpuArchitecture", c.CPUArchitecture, "X86_64 or ARM64")
	p.checkInt("scaleInCooldownSeconds", c.ScaleInCooldown, 0, 3600)
	p.checkInt("scaleOutCooldownSeconds", c.ScaleOutCooldown, 0, 3600)
	p.validateRouting(c.Routing, c.Region)
}

// checkDistinctServiceNames refuses two services with one ECS service name, log group or
// repository: AWS would refuse the second at its creation (or, for a log group, the two would
// write into one).
func (p *problems) checkDistinctServiceNames(c *Config) {
	seen := map[string]string{"LogGroupName:/ecs/" + c.Prefix() + "/exec": "the ECS Exec sessions"}
	for _, svc := range c.Services {
		for _, f := range []struct{ key, name string }{{"ServiceName", svc.ServiceName}, {"LogGroupName", svc.LogGroupName}, {"RepositoryName", svc.RepositoryName}} {
			if other, ok := seen[f.key+":"+f.name]; ok {
				p.add(svc.Name+f.key, f.name, "a name of its own: "+other+" has it")
				continue
			}
			seen[f.key+":"+f.name] = "the " + svc.Name
		}
	}
}

// validateWorkers checks the names of the workers.
func (p *problems) validateWorkers(c *Config) {
	if len(c.Workers) > maxWorkers {
		p.add("workers", strings.Join(c.Workers, ","), fmt.Sprintf("at most %d workers", maxWorkers))
	}
	seen := map[string]bool{}
	for _, name := range c.Workers {
		switch svc := c.Service(name); {
		case !workerNamePattern.MatchString(name):
			p.add("workers", name, "worker names of 2 to 20 lowercase letters and digits, starting with a letter")
		case seen[name]:
			p.add("workers", name, "each worker named once")
		case svc != nil && !svc.Worker:
			p.add("workers", name, "a name other than the program's services ("+strings.Join(programServices(c), ", ")+")")
		case slices.Contains(reservedWorkerNames, name):
			p.add("workers", name, "a name other than the program's tiers' ("+strings.Join(reservedWorkerNames, ", ")+
				"): a worker's log group, security group, alarms and outputs are named after it")
		}
		seen[name] = true
	}
}

// programServices are the names of the services the program declares itself.
func programServices(c *Config) []string {
	var names []string
	for _, svc := range c.Services {
		if !svc.Worker {
			names = append(names, svc.Name)
		}
	}
	return names
}

// iamPolicyNamePattern is IAM's managed policy name.
var iamPolicyNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// reservedWorkerNames are the names of the program's tiers, which a worker's names would
// collide with: the load balancer's and the data tier's security groups and outputs (alb-sg,
// redisSecurityGroupId, rdsSecurityGroupId), the database's alarms (db-cpu), the log groups of
// logGroups (exec, postgresql, upgrade, waf).
// TestNoWorkerNameCollidesWithTheProgramsOwn derives them from the program's own names.
var reservedWorkerNames = []string{"alb", "database", "db", "exec", "postgresql", "rds", "redis", "upgrade", "waf"}

// maxWorkers bounds the workers: each is a repository, a log group, a security group, roles,
// a service and its alarms.
const maxWorkers = 10

// sqsQueueNamePattern is SQS's queue name: a FIFO queue's ends in .fifo.
var sqsQueueNamePattern = regexp.MustCompile(`^(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$`)

// maxTasks are the services' maximum task counts.
func (c *Config) maxTasks() []int {
	var out []int
	for _, svc := range c.Services {
		out = append(out, svc.MaxTasks)
	}
	return out
}

// validateRouting checks the keys of the load balancer.
func (p *problems) validateRouting(r RoutingConfig, region string) {
	if r.CertificateArn != "" {
		// A load balancer can only use a certificate of its own region.
		p.check(regexp.MustCompile(`^arn:aws[a-z-]*:acm:`+regexp.QuoteMeta(region)+`:[0-9]{12}:certificate/[0-9a-f-]{36}$`).MatchString(r.CertificateArn),
			"certificateArn", r.CertificateArn, "an ACM certificate ARN in "+region)
	}
	if r.HostedZoneID != "" {
		p.check(regexp.MustCompile(`^Z[A-Z0-9]{1,32}$`).MatchString(r.HostedZoneID), "hostedZoneId", r.HostedZoneID, "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")
	}
	if r.HostedZoneName != "" {
		p.check(isDomainName(r.HostedZoneName) && (r.DomainName == r.HostedZoneName || strings.HasSuffix(r.DomainName, "."+r.HostedZoneName)),
			"hostedZoneName", r.HostedZoneName, "the domain of a Route 53 zone that contains domainName ("+r.DomainName+")")
	}
	if r.DomainName == "" && (r.HostedZoneID != "" || r.HostedZoneName != "") {
		p.add("domainName", "", "set when hostedZoneId or hostedZoneName is (the zone is only used for the domain)")
	}
	p.checkInt("deregistrationDelaySeconds", r.DeregistrationDelaySeconds, 0, 3600)
	p.checkInt("healthCheckGracePeriodSeconds", r.HealthCheckGracePeriodSeconds, 0, 3600)
}

// checkWritablePaths accepts up to 10 distinct absolute, clean directories other than the root
// and the paths ECS Exec uses (the program mounts those itself).
func (p *problems) checkWritablePaths(key string, paths []string) {
	if len(paths) > 10 {
		p.add(key, strings.Join(paths, ","), "at most 10 paths")
	}
	seen := map[string]bool{}
	for _, path := range paths {
		ok := writablePathPattern.MatchString(path) && pathpkg.Clean(path) == path && path != "/" && !seen[path] &&
			!slices.Contains(execWritablePaths, path)
		p.check(ok, key, path, "distinct absolute directories such as /tmp (letters, digits and ._-/, no .. and no trailing /), "+
			"not / and not "+strings.Join(execWritablePaths, " or ")+" (mounted for ECS Exec)")
		seen[path] = true
	}
	names := map[string]string{}
	for _, v := range writableVolumes(true, false, paths) {
		if other, dup := names[v.name]; dup && other != v.path {
			p.add(key, v.path, "paths whose volume names differ ("+other+" and "+v.path+" are both "+v.name+")")
		}
		names[v.name] = v.path
	}
}

var (
	writablePathPattern = regexp.MustCompile(`^/[A-Za-z0-9._/-]{1,200}$`)
	imageTagPattern     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	healthPathPattern   = regexp.MustCompile(`^/[A-Za-z0-9_.~!$&'()*+,;=:@%/-]*$`)
	userPattern         = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$`)
	pathPatternPattern  = regexp.MustCompile(`^/[A-Za-z0-9_\-.$/~"'@:+&*?]{0,127}$`)
)

// validateAlarms keeps every threshold where its metric can reach it.
func (p *problems) validateAlarms(c *Config) {
	a := c.Alarms
	p.checkInt("alarmMinHealthyTargets", a.MinHealthyTargets, 1, 100)
	p.checkInt("alarmHttp5xxPer5Minutes", a.Http5xxPer5Minutes, 1, 1000000)
	p.checkInt("alarmDbCpuPercent", a.DBCPUPercent, 1, 99)
	// A threshold at or above the allocated storage would alarm from the first minute.
	p.checkInt("alarmDbFreeStorageGb", a.DBFreeStorageGB, 1, c.Database.AllocatedStorage-1)
	p.checkInt("alarmDbConnections", a.DBConnections, 1, 100000)
	p.checkInt("alarmRedisCpuPercent", a.RedisCPUPercent, 1, 99)
	p.checkInt("alarmRedisMemoryPercent", a.RedisMemoryPercent, 1, 99)
	p.checkInt("alarmServiceCpuPercent", a.ServiceCPUPercent, 1, 99)
	p.checkInt("alarmServiceMemoryPercent", a.ServiceMemoryPercent, 1, 99)
	p.checkInt("alarmWafBlockedPer5Minutes", a.WafBlockedPer5Minutes, 1, 1000000000)
	// AWS WAF's bounds of a rate-based rule's limit, per evaluation window.
	p.checkInt("wafRateLimit", c.Firewall.RateLimit, 10, 2000000000)
	p.check(c.Firewall.Mode == wafCount || c.Firewall.Mode == wafBlock, "wafMode", c.Firewall.Mode,
		`"count" (the rules count what they match: the first rollout) or "block"`)
	if len(c.Firewall.RateLimitPaths) > maxRateLimitPaths {
		p.add("wafRateLimitPaths", strings.Join(c.Firewall.RateLimitPaths, ","), fmt.Sprintf("at most %d path prefixes", maxRateLimitPaths))
	}
	for _, path := range c.Firewall.RateLimitPaths {
		p.check(strings.HasPrefix(path, "/") && len(path) <= 200, "wafRateLimitPaths", path,
			"path prefixes that start with / and have at most 200 characters (AWS WAF's search strings)")
	}
	if a.ResponseTimeP95Second <= 0 || a.ResponseTimeP95Second > 60 {
		p.add("alarmResponseTimeP95Seconds", strconv.FormatFloat(a.ResponseTimeP95Second, 'f', -1, 64),
			"a number of seconds above 0 and at most 60 (the load balancer's idle timeout)")
	}
}

// checkWindows checks a daily backup (or snapshot) window and a weekly maintenance window:
// their AWS formats, a minimum length, and that they do not overlap, which AWS rejects.
func (p *problems) checkWindows(dailyKey, daily, weeklyKey, weekly string, minMinutes int) {
	for _, w := range limits.CheckWindows(dailyKey, daily, weeklyKey, weekly, minMinutes) {
		p.add(w.Key, w.Value, w.Allowed)
	}
}

// dbParameterName is a PostgreSQL parameter as RDS names them: lower case words joined by
// underscores, "rds." or an extension's prefix before some ("pg_stat_statements.track").
var dbParameterName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$`)

// checkDBParameters checks dbParameters: parameter names with a value each, and none that
// undoes what the program forces.
func (p *problems) checkDBParameters(params map[string]string) {
	for _, name := range sortedKeys(params) {
		value := params[name]
		switch {
		case !dbParameterName.MatchString(name):
			p.add("dbParameters", name, "PostgreSQL parameter names such as shared_preload_libraries or pg_stat_statements.track")
		case name == "rds.force_ssl":
			p.add("dbParameters", name+"="+value, "parameters other than rds.force_ssl, which the program sets to 1: "+
				"the database takes TLS connections only")
		case strings.TrimSpace(value) == "":
			p.add("dbParameters", name+"=", "a value for every parameter (RDS has no empty one; leave it out for the default)")
		}
	}
}

// logGroupNamePattern is CloudWatch Logs' rule for a log group name (CreateLogGroup).
var logGroupNamePattern = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)

// ecrFilterPattern is the pattern of a replication rule's repository filter (ECR's
// RepositoryFilter): a repository name or a beginning of one.
var ecrFilterPattern = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$`)

// checkAccountSettings checks what the owner replicates: DR regions other than the stack's,
// repository names ECR takes, and the registry's limits (10 rules, 100 filters a rule).
func (p *problems) checkAccountSettings(c *Config) {
	const key = "accountReplicatedRepositories"
	extra := c.AccountSettings.ReplicatedRepositories
	if len(extra) > 0 && !c.AccountSettings.Owner {
		p.add(key, fmt.Sprint(extra), "unset on a stack that does not own the account's settings "+
			"(accountSettingsOwner: true): only the owner declares the registry's replication")
	}
	for _, region := range sortedKeys(extra) {
		switch {
		case !regionPattern.MatchString(region):
			p.add(key, region, "DR region names such as ap-northeast-1 as the map's keys")
		case region == c.Region:
			p.add(key, region, "regions other than aws:region ("+c.Region+") as the map's keys: a copy in the same region survives nothing")
		}
		for _, name := range extra[region] {
			if len(name) < 2 || len(name) > 256 || !ecrFilterPattern.MatchString(name) {
				p.add(key, name, "repository names, or their beginnings, as ECR's replication filters take them: "+
					"lowercase letters, digits, '.', '_', '-' and '/', 2 to 256 characters")
			}
		}
	}
	rules := c.registryRules()
	if len(rules) > limits.EcrReplicationRules {
		p.add(key, fmt.Sprint(extra), fmt.Sprintf("at most %d DR regions with the stack's own: ECR takes %d replication rules",
			limits.EcrReplicationRules, limits.EcrReplicationRules))
	}
	for _, region := range sortedKeys(rules) {
		if len(rules[region]) > limits.EcrReplicationFilters {
			p.add(key, region, fmt.Sprintf("at most %d repositories for a region (ECR's filters per rule)", limits.EcrReplicationFilters))
		}
	}
}

// accountSettingsWarnings say what a stack that does not own its account's settings relies on
// the owner for.
func (c *Config) accountSettingsWarnings() []string {
	if c.AccountSettings.Owner {
		return nil
	}
	var out []string
	if c.DrRegion != "" {
		var names []string
		for _, svc := range c.Services {
			names = append(names, svc.RepositoryName)
		}
		out = append(out, fmt.Sprintf("the images replicate to %s only once the account's settings copy this stack's repositories "+
			"(%s): the account stack lists this stack with drRegion %s (it copies every repository under %s/, docs/account.md), "+
			"or the application stack that owns the settings lists them in accountReplicatedRepositories[%q] (docs/changing-a-stack.md)",
			c.DrRegion, strings.Join(names, ", "), c.DrRegion, c.Prefix(), c.DrRegion))
	}
	return out
}
