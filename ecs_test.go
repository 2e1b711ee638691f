package main

import (
	"coldchain/internal/guard"
	"coldchain/internal/offline"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClusterIsNamedAfterThePrefixWithInsightsAndExecLogging(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	cluster := p.One(t, "aws:ecs/cluster:Cluster", "cluster")
	assert.Equal(t, "coldchain-production", cluster.In("name"))
	assert.Equal(t, []any{map[string]any{"name": "containerInsights", "value": "enabled"}}, cluster.List("settings"))
	exec := cluster.Obj("configuration")["executeCommandConfiguration"].(map[string]any)
	assert.Equal(t, "OVERRIDE", exec["logging"])
	assert.Equal(t, "/ecs/coldchain-production/exec", exec["logConfiguration"].(map[string]any)["cloudWatchLogGroupName"])
	assert.Equal(t, "coldchain-production", p.Outputs["ecsClusterName"])
}

func TestLoadBalancerIsPublicHardenedAndLogsAfterTheBucketPolicy(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	alb := p.One(t, albType, "alb")
	assert.Equal(t, "application", alb.In("loadBalancerType"))
	assert.False(t, alb.Flag("internal"))
	assert.Equal(t, p.Outputs["publicSubnetIds"], alb.List("subnets"))
	assert.Equal(t, []any{sgID(t, p, "alb-sg")}, alb.List("securityGroups"))
	assert.True(t, alb.Flag("dropInvalidHeaderFields"))
	assert.True(t, alb.Flag("enableDeletionProtection"))
	logs := alb.Obj("accessLogs")
	assert.Equal(t, p.Outputs["logsBucketName"], logs["bucket"])
	assert.Equal(t, "alb", logs["prefix"])
	assert.Equal(t, true, logs["enabled"])
	assert.Contains(t, alb.DependsOn, p.One(t, "aws:s3/bucketPolicy:BucketPolicy", "logs").URN)

	off := planOf(t, with(minimalConfig(), "albDeletionProtection=false"))
	assert.False(t, off.One(t, albType, "alb").Flag("enableDeletionProtection"))
}

func TestWithoutADomainTheLoadBalancerServesHTTPOnlyAndWarns(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "alarmEmail=ops@coldchain-dispatch.com", "allowPlainHttp=true"))
	listeners := p.All(listenerType)
	require.Len(t, listeners, 1)
	http := listeners[0]
	assert.Equal(t, float64(80), http.Num("port"))
	assert.Equal(t, "HTTP", http.In("protocol"))
	action := http.List("defaultActions")[0].(map[string]any)
	assert.Equal(t, "forward", action["type"])
	assert.Equal(t, p.One(t, tgType, "frontend").ID, action["targetGroupArn"], "the frontend is the default")
	assert.Empty(t, p.All(certType))
	assert.Regexp(t, `^http://alb-[0-9a-f]{7}-\d+\.ap-northeast-2\.elb\.amazonaws\.com$`, p.Outputs["applicationUrl"])
	require.Len(t, p.Warnings, 1)
	assert.Contains(t, p.Warnings[0], "plain HTTP")
	assert.Equal(t, http.ID, p.One(t, ruleType, "backend").In("listenerArn"))
}

func TestWithADomainHTTPSIsServedAndHTTPRedirects(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "domainName=dispatch.example.com"))
	https := p.One(t, listenerType, "https")
	http := p.One(t, listenerType, "http")
	validation := p.One(t, certValidType, "certificate")
	cert := p.One(t, certType, "certificate")

	assert.Equal(t, float64(443), https.Num("port"))
	assert.Equal(t, "HTTPS", https.In("protocol"))
	assert.Equal(t, "ELBSecurityPolicy-TLS13-1-2-2021-06", https.In("sslPolicy"), "TLS 1.2 and 1.3 only")
	assert.Equal(t, validation.Outputs["certificateArn"], https.In("certificateArn"))
	assert.Contains(t, https.DependsOn, validation.URN, "the listener waits for the certificate to be issued")
	assert.Equal(t, p.One(t, tgType, "frontend").ID, https.List("defaultActions")[0].(map[string]any)["targetGroupArn"])

	redirect := http.List("defaultActions")[0].(map[string]any)
	assert.Equal(t, "redirect", redirect["type"])
	assert.Equal(t, map[string]any{"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}, redirect["redirect"])
	assert.Equal(t, https.ID, p.One(t, ruleType, "backend").In("listenerArn"), "the backend rule is on the HTTPS listener")

	assert.Equal(t, "dispatch.example.com", cert.In("domainName"))
	assert.Equal(t, "DNS", cert.In("validationMethod"))
	record := p.One(t, recordType, "certificate-validation")
	option := cert.Outputs["domainValidationOptions"].([]any)[0].(map[string]any)
	assert.Equal(t, option["resourceRecordName"], record.In("name"))
	assert.Equal(t, option["resourceRecordType"], record.In("type"))
	assert.Equal(t, []any{option["resourceRecordValue"]}, record.List("records"))
	assert.Equal(t, []any{record.Outputs["fqdn"]}, validation.List("validationRecordFqdns"))

	alias := p.One(t, recordType, "alias")
	alb := p.One(t, albType, "alb")
	assert.Equal(t, "dispatch.example.com", alias.In("name"))
	assert.Equal(t, "A", alias.In("type"))
	assert.Equal(t, alb.Outputs["dnsName"], alias.List("aliases")[0].(map[string]any)["name"])
	assert.Equal(t, alb.Outputs["zoneId"], alias.List("aliases")[0].(map[string]any)["zoneId"])
	// Both records go in the zone found by the domain's parent name.
	assert.Equal(t, alias.In("zoneId"), record.In("zoneId"))
	assert.Regexp(t, `^Z[0-9A-F]+$`, alias.In("zoneId"))

	assert.Equal(t, "https://dispatch.example.com", p.Outputs["applicationUrl"])
	assert.NotContains(t, strings.Join(p.Warnings, "\n"), "plain HTTP")

	// Adding a domain to a running stack turns the HTTP listener into a redirect: it must wait
	// for the HTTPS listener (and so for the certificate) or it redirects to nothing.
	assert.Contains(t, http.DependsOn, https.URN, "the redirect is applied only once HTTPS is served")
}

func TestHostedZoneCanBeGivenById(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "domainName=example.com", "hostedZoneId=Z0123456789ABC"))
	assert.Equal(t, "Z0123456789ABC", p.One(t, recordType, "alias").In("zoneId"))
	assert.Equal(t, "Z0123456789ABC", p.One(t, recordType, "certificate-validation").In("zoneId"))
}

func TestATeamsOwnCertificateIsUsedWithoutACM(t *testing.T) {
	t.Parallel()
	arn := "arn:aws:acm:ap-northeast-2:123456789012:certificate/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"
	p := planOf(t, with(minimalConfig(), "certificateArn="+arn))
	assert.Empty(t, p.All(certType))
	assert.Empty(t, p.All(recordType))
	assert.Equal(t, arn, p.One(t, listenerType, "https").In("certificateArn"))
	assert.Regexp(t, `^https://alb-`, p.Outputs["applicationUrl"])

	_, err := loadConfig(project, "production", with(minimalConfig(),
		"certificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0b5ac2a4-7c1e-4b1e-9f0e-3a2b1c0d9e8f"))
	require.Error(t, err, "a certificate of another region cannot be used by the load balancer")
	assert.Contains(t, err.Error(), "certificateArn")
}

func TestBackendRuleHasAFixedPriorityAndTheConfiguredPaths(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), `backendPathPatterns=["/api/*","/docs"]`))
	rule := p.One(t, ruleType, "backend")
	assert.Equal(t, float64(100), rule.Num("priority"))
	condition := rule.List("conditions")[0].(map[string]any)
	assert.Equal(t, []any{"/api/*", "/docs"}, condition["pathPattern"].(map[string]any)["values"])
	action := rule.List("actions")[0].(map[string]any)
	assert.Equal(t, "forward", action["type"])
	assert.Equal(t, p.One(t, tgType, "backend").ID, action["targetGroupArn"])
}

func TestTargetGroupsRegisterTasksByIPAndProbeTheConfiguredPaths(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "backendHealthCheckPath=/api/health", "deregistrationDelaySeconds=15"))
	for name, want := range map[string]struct {
		port float64
		path string
	}{"backend": {8000, "/api/health"}, "frontend": {80, "/"}} {
		tg := p.One(t, tgType, name)
		assert.Equal(t, "ip", tg.In("targetType"), name)
		assert.Equal(t, want.port, tg.Num("port"), name)
		assert.Equal(t, "HTTP", tg.In("protocol"))
		assert.Equal(t, p.Outputs["vpcId"], tg.In("vpcId"))
		assert.Equal(t, float64(15), tg.Num("deregistrationDelay"))
		assert.Equal(t, want.path, tg.Obj("healthCheck")["path"], name)
	}
}

// containerOf parses the single container definition of a service's task definition.
func containerOf(t *testing.T, p *offline.Plan, service string) containerDefinition {
	t.Helper()
	var defs []containerDefinition
	p.One(t, taskDefType, service).Doc(t, "containerDefinitions", &defs)
	require.Len(t, defs, 1)
	return defs[0]
}

func TestBackendContainerGetsSettingsInEnvironmentAndSecretsOnlyFromSecrets(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	c := containerOf(t, p, "backend")
	db := p.One(t, dbType, "postgres")

	env := map[string]string{}
	for _, e := range c.Environment {
		env[e.Name] = e.Value
	}
	assert.Equal(t, map[string]string{
		"DATABASE_HOST":  db.Outputs["address"].(string),
		"DATABASE_PORT":  "5432",
		"DATABASE_NAME":  "coldchain",
		"DATABASE_USER":  "coldchain_admin",
		"REDIS_HOST":     p.Outputs["redisPrimaryEndpoint"].(string),
		"REDIS_PORT":     "6379",
		"REDIS_TLS":      "true",
		"UPLOADS_BUCKET": "coldchain-production-uploads-123456789012",
		"AWS_REGION":     "ap-northeast-2",
		"ENVIRONMENT":    "production",
	}, env)

	secrets := map[string]string{}
	for _, s := range c.Secrets {
		secrets[s.Name] = s.ValueFrom
	}
	assert.Equal(t, map[string]string{
		"DATABASE_PASSWORD": p.Outputs["databaseSecretArn"].(string) + ":password::",
		"REDIS_AUTH_TOKEN":  p.One(t, secretType, "redis-auth").Outputs["arn"].(string),
		"API_KEY":           p.One(t, secretType, "backend-api-key").Outputs["arn"].(string),
	}, secrets)
	for name, value := range env {
		assert.NotContainsf(t, secrets, name, "%s is both a setting and a secret", name)
		assert.NotContainsf(t, value, ":secretsmanager:", "setting %s holds a secret reference", name)
		assert.NotContainsf(t, strings.ToUpper(name), "PASSWORD", "setting %s looks like a secret", name)
	}
}

func TestContainersLogToTheirLogGroupsAndRunUnprivileged(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	for _, service := range []string{"backend", "frontend"} {
		c := containerOf(t, p, service)
		group := p.One(t, logGroupType, service)
		assert.Equal(t, "/ecs/coldchain-production/"+service, group.In("name"))
		assert.Equal(t, float64(30), group.Num("retentionInDays"))
		assert.Equal(t, "awslogs", c.LogConfiguration.LogDriver)
		assert.Equal(t, group.In("name"), c.LogConfiguration.Options["awslogs-group"], "the log option names the real group")
		assert.Equal(t, "ap-northeast-2", c.LogConfiguration.Options["awslogs-region"])
		assert.False(t, c.Privileged)
		assert.True(t, c.Essential)
		assert.Equal(t, service, c.Name)
		repo := p.One(t, repoType, service)
		assert.Equal(t, repo.Outputs["repositoryUrl"].(string)+":"+releaseTag, c.Image, "the released tag, never a default")
	}
	assert.Equal(t, "1000", containerOf(t, p, "backend").User, "the backend runs as a non-root user")
	assert.Empty(t, containerOf(t, p, "frontend").Secrets)
	assert.Equal(t, []portMapping{{ContainerPort: 8000, Protocol: "tcp", Name: "backend-8000"}}, containerOf(t, p, "backend").PortMappings)
	assert.True(t, containerOf(t, p, "backend").LinuxParameters.InitProcessEnabled, "ECS Exec needs the init process")
}

func TestImageTagsComeFromConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "backendImageTag=3f9c2ab", "frontendImageTag=v1.4.0"))
	assert.True(t, strings.HasSuffix(containerOf(t, p, "backend").Image, "/coldchain-production/backend:3f9c2ab"))
	assert.True(t, strings.HasSuffix(containerOf(t, p, "frontend").Image, "/coldchain-production/frontend:v1.4.0"))
}

func TestTaskDefinitionsAreFargateSizedFromConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "cpuArchitecture=ARM64", "frontendCpu=256", "frontendMemory=512"))
	for name, want := range map[string][2]string{"backend": {"1024", "2048"}, "frontend": {"256", "512"}} {
		td := p.One(t, taskDefType, name)
		assert.Equal(t, "coldchain-production-"+name, td.In("family"))
		assert.Equal(t, want[0], td.In("cpu"))
		assert.Equal(t, want[1], td.In("memory"))
		assert.Equal(t, "awsvpc", td.In("networkMode"))
		assert.Equal(t, []any{"FARGATE"}, td.List("requiresCompatibilities"))
		assert.Equal(t, map[string]any{"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}, td.Obj("runtimePlatform"))
		assert.Equal(t, p.One(t, roleType, name+"-execution").Outputs["arn"], td.In("executionRoleArn"))
		assert.Equal(t, p.One(t, roleType, name+"-task").Outputs["arn"], td.In("taskRoleArn"))
	}
}

// policyOf parses the inline policy of a role.
func policyOf(t *testing.T, p *offline.Plan, name string) parsedPolicy {
	t.Helper()
	var policy parsedPolicy
	p.One(t, rolePolicy, name).Doc(t, "policy", &policy)
	return policy
}

func TestExecutionRolesReadExactlyTheirOwnImageLogsAndSecrets(t *testing.T) {
	t.Parallel()
	p := planOfFile(t, "production")
	policy := policyOf(t, p, "backend-execution")
	bySid := map[string][]string{}
	for _, s := range policy.Statement {
		assert.Equal(t, "Allow", s.Effect)
		for _, a := range strs(s.Action) {
			assert.NotContainsf(t, a, "*", "statement %s allows wildcard action %s", s.Sid, a)
			if !guard.UnscopedAllowed[a] {
				assert.NotContainsf(t, strs(s.Resource), "*", "statement %s: %s on every resource", s.Sid, a)
			}
		}
		bySid[s.Sid] = strs(s.Resource)
	}
	assert.Equal(t, []string{p.One(t, repoType, "backend").Outputs["arn"].(string)}, bySid["PullImage"])
	assert.Equal(t, []string{p.One(t, logGroupType, "backend").Outputs["arn"].(string) + ":log-stream:*"}, bySid["WriteLogs"])
	assert.ElementsMatch(t, []string{p.Outputs["databaseSecretArn"].(string), p.One(t, secretType, "redis-auth").Outputs["arn"].(string),
		p.One(t, secretType, "backend-api-key").Outputs["arn"].(string)}, bySid["ReadSecrets"])
	assert.NotContains(t, bySid, "ReadParameters", "no SSM parameter is mapped in production")
	withParameter := policyOf(t, planOfFile(t, "production", `backendSecrets={"PARTNER":"/coldchain/production/partner"}`), "backend-execution")
	for _, s := range withParameter.Statement {
		if s.Sid == "ReadParameters" {
			assert.Equal(t, []string{"arn:aws:ssm:ap-northeast-2:123456789012:parameter/coldchain/production/partner"}, strs(s.Resource))
		}
	}
	assert.Equal(t, []string{p.One(t, kmsKeyType, "data").Outputs["arn"].(string)}, bySid["DecryptSecrets"])

	frontend := policyOf(t, p, "frontend-execution")
	for _, s := range frontend.Statement {
		assert.NotContainsf(t, []string{"ReadSecrets", "ReadParameters", "DecryptSecrets"}, s.Sid, "the frontend reads no secret")
	}
}

func TestTaskRolesAllowOnlyWhatTheApplicationNeeds(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	uploads := p.One(t, bucketType, "uploads").Outputs["arn"].(string)
	resources := map[string][]string{}
	for _, s := range policyOf(t, p, "backend-task").Statement {
		for _, a := range strs(s.Action) {
			if !guard.UnscopedAllowed[a] {
				assert.NotContainsf(t, strs(s.Resource), "*", "%s on every resource", a)
			}
			resources[a] = strs(s.Resource)
		}
	}
	assert.Equal(t, []string{uploads + "/*"}, resources["s3:PutObject"])
	assert.Equal(t, []string{uploads + "/*"}, resources["s3:GetObject"])
	assert.Equal(t, []string{uploads}, resources["s3:ListBucket"])
	assert.Contains(t, resources, "ssmmessages:OpenDataChannel", "ECS Exec works")
	assert.NotContains(t, resources, "s3:DeleteBucket")

	for _, r := range p.All(rolePolicy) {
		assert.NotEqual(t, p.One(t, roleType, "frontend-task").Outputs["name"], r.In("role"), "the frontend task role has no permission")
	}
	for _, name := range []string{"backend-task", "backend-execution", "frontend-task", "frontend-execution"} {
		var trust parsedPolicy
		p.One(t, roleType, name).Doc(t, "assumeRolePolicy", &trust)
		require.Len(t, trust.Statement, 1)
		s := bySid(t, trust, "AssumedByEcsTasks")
		assert.Equal(t, map[string]any{"Service": "ecs-tasks.amazonaws.com"}, s.Principal, name)
		assert.Equal(t, "123456789012", s.Condition["StringEquals"]["aws:SourceAccount"], name)
		assert.Equal(t, "arn:aws:ecs:ap-northeast-2:123456789012:*", s.Condition["ArnLike"]["aws:SourceArn"], name)
	}
}

func TestServicesRunPrivatelyBehindTheirTargetGroupsWithRollback(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	cluster := p.One(t, "aws:ecs/cluster:Cluster", "cluster")
	for _, name := range []string{"backend", "frontend"} {
		svc := p.One(t, serviceType, name)
		assert.Equal(t, "coldchain-production-"+name, svc.In("name"))
		assert.Equal(t, cluster.Outputs["arn"], svc.In("cluster"))
		assert.Equal(t, p.One(t, taskDefType, name).Outputs["arn"], svc.In("taskDefinition"))
		assert.Equal(t, float64(2), svc.Num("desiredCount"))
		network := svc.Obj("networkConfiguration")
		assert.Equal(t, p.Outputs["privateSubnetIds"], network["subnets"])
		assert.Equal(t, false, network["assignPublicIp"])
		assert.Equal(t, []any{sgID(t, p, name+"-sg")}, network["securityGroups"])
		lb := svc.List("loadBalancers")[0].(map[string]any)
		assert.Equal(t, p.One(t, tgType, name).ID, lb["targetGroupArn"])
		assert.Equal(t, name, lb["containerName"])
		assert.Equal(t, map[string]any{"enable": true, "rollback": true}, svc.Obj("deploymentCircuitBreaker"))
		assert.Equal(t, float64(60), svc.Num("healthCheckGracePeriodSeconds"))
		assert.Equal(t, []string{"desiredCount"}, svc.IgnoreChanges, "autoscaling owns the desired count")
		assert.Equal(t, []any{map[string]any{"capacityProvider": "FARGATE", "weight": float64(1)}}, svc.List("capacityProviderStrategies"))
		for _, r := range append(p.All(listenerType), p.All(ruleType)...) {
			assert.Containsf(t, svc.DependsOn, r.URN, "service %s starts before %s routes to it", name, r.Name)
		}
	}
	assert.Equal(t, p.One(t, taskDefType, "frontend").Outputs["arn"], p.Outputs["frontendTaskDefinitionArn"])
	assert.True(t, p.One(t, serviceType, "backend").Flag("enableExecuteCommand"))
	assert.False(t, p.One(t, serviceType, "frontend").Flag("enableExecuteCommand"))
	assert.Equal(t, "coldchain-production-backend", p.Outputs["backendServiceName"])
	assert.Equal(t, p.One(t, taskDefType, "backend").Outputs["arn"], p.Outputs["backendTaskDefinitionArn"])
}

func TestFargateSpotFollowsConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "fargateSpot=true"))
	assert.Equal(t, "FARGATE_SPOT", p.One(t, serviceType, "backend").List("capacityProviderStrategies")[0].(map[string]any)["capacityProvider"])
}

func TestContainerDefinitionsRefuseAValueThatIsBothSettingAndSecret(t *testing.T) {
	t.Parallel()
	_, err := containerDefinitions(containerSpec{Name: "backend", Environment: map[string]string{"API_KEY": "x"},
		Secrets: map[string]string{"API_KEY": "arn:aws:ssm:ap-northeast-2:123456789012:parameter/k"}})
	require.Error(t, err)
	out, err := containerDefinitions(containerSpec{Name: "frontend", Image: "repo:tag", Port: 80})
	require.NoError(t, err)
	var defs []containerDefinition
	require.NoError(t, json.Unmarshal([]byte(out), &defs))
	require.Len(t, defs, 1)
	assert.Equal(t, "repo:tag", defs[0].Image)
	assert.Equal(t, []portMapping{{ContainerPort: 80, Protocol: "tcp", Name: "frontend-80"}}, defs[0].PortMappings)
}

func TestTasksStartOnlyOnceTheirRolesMayDoTheirWork(t *testing.T) {
	t.Parallel()
	// A task definition and a service name the roles, not the roles' inline policies: without
	// waiting for them, ECS could start tasks that may not yet pull the image or read a secret.
	p := planOf(t, minimalConfig())
	for _, name := range []string{"backend", "frontend"} {
		var policies []string
		for _, policy := range p.All(rolePolicy) {
			if policy.Name == name+"-execution" || policy.Name == name+"-task" {
				policies = append(policies, policy.URN)
			}
		}
		require.NotEmpty(t, policies)
		for _, r := range []*offline.PlanResource{p.One(t, taskDefType, name), p.One(t, serviceType, name)} {
			for _, policy := range policies {
				assert.Containsf(t, r.DependsOn, policy, "%s %s does not wait for %s", r.Type, name, policy)
			}
		}
	}
	assert.Len(t, p.All(rolePolicy), 6, "backend execution and task, frontend execution (the frontend's task role has no policy), flow logs, "+
		"and the backend's redeploy on a secret change (state machine, event rule)")
}

func TestDeploymentsAreWaitedForAndRolledBackOnTheirAlarms(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	topic := p.One(t, "aws:sns/topic:Topic", "alarms").Outputs["arn"]
	for _, name := range []string{"backend", "frontend"} {
		svc := p.One(t, serviceType, name)
		assert.True(t, svc.Flag("waitForSteadyState"), "pulumi up waits for the %s deployment to finish", name)
		// 5 min to start + 60 s grace + 2 x 15 s health checks + 30 s draining + 30 s stop
		// + 15 min bake (the latency alarm's window) + 5 min margin = 1650 s.
		assert.Equal(t, map[string]string{"create": "28m", "update": "28m"}, svc.CustomTimeouts)

		fiveXX := p.One(t, alarmType, name+"-target-5xx")
		latency := p.One(t, alarmType, name+"-response-time")
		assert.Equal(t, map[string]any{
			"alarmNames": []any{fiveXX.Outputs["name"], latency.Outputs["name"]}, "enable": true, "rollback": true,
		}, svc.Obj("alarms"), "the service's own 5XX and latency alarms roll a deployment back")
		for _, alarm := range []*offline.PlanResource{fiveXX, latency} {
			assert.Containsf(t, svc.DependsOn, alarm.URN, "%s exists before the service deploys", alarm.Name)
			assert.Equal(t, "notBreaching", alarm.In("treatMissingData"), "no traffic is no reason to roll back")
			assert.Equal(t, []any{topic}, alarm.List("alarmActions"))
			assert.Equal(t, p.One(t, serviceType, name).Parent, alarm.Parent, "deployment alarms belong to the services area")
		}
		assert.Equal(t, tgSuffixOf(p, name), fiveXX.Obj("dimensions")["TargetGroup"])
	}
	// The timeout follows the settings it is made of.
	slow := planOf(t, with(minimalConfig(), "healthCheckGracePeriodSeconds=600", "deregistrationDelaySeconds=300"))
	assert.Equal(t, map[string]string{"create": "41m", "update": "41m"}, slow.One(t, serviceType, "backend").CustomTimeouts)
	assert.Equal(t, "28m", deploymentTimeout(60, 30, 900))
	assert.Equal(t, "16m", deploymentTimeout(0, 0, 300), "the timeout is rounded up to whole minutes")
}

func tgSuffixOf(p *offline.Plan, name string) any {
	for _, tg := range p.All(tgType) {
		if tg.Name == name {
			return tg.Outputs["arnSuffix"]
		}
	}
	return nil
}

func TestContainersRunOnAReadOnlyRootWithWritableVolumes(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	for name, want := range map[string]map[string]string{
		// nginx writes its temporary files and pid file; the backend's ECS Exec agent its state
		// and logs.
		"frontend": {"tmp": "/tmp", "var-cache-nginx": "/var/cache/nginx", "var-run": "/var/run"},
		"backend":  {"tmp": "/tmp", "var-lib-amazon": "/var/lib/amazon", "var-log-amazon": "/var/log/amazon"},
	} {
		td := p.One(t, taskDefType, name)
		var defs []containerDefinition
		td.Doc(t, "containerDefinitions", &defs)
		require.Len(t, defs, 1)
		assert.Truef(t, defs[0].ReadonlyRootFilesystem, "%s: Security Hub ECS.5", name)
		mounts := map[string]string{}
		for _, m := range defs[0].MountPoints {
			assert.False(t, m.ReadOnly)
			mounts[m.SourceVolume] = m.ContainerPath
		}
		assert.Equal(t, want, mounts, name)
		var volumes []any
		for v := range want {
			volumes = append(volumes, map[string]any{"name": v})
		}
		assert.ElementsMatch(t, volumes, td.List("volumes"), "%s: every mount is an empty task volume", name)
	}

	writable := planOf(t, with(minimalConfig(), "frontendReadonlyRootFilesystem=false", `backendWritablePaths=["/tmp","/app/cache"]`))
	var defs []containerDefinition
	writable.One(t, taskDefType, "frontend").Doc(t, "containerDefinitions", &defs)
	assert.False(t, defs[0].ReadonlyRootFilesystem)
	assert.Empty(t, defs[0].MountPoints)
	assert.Empty(t, writable.One(t, taskDefType, "frontend").List("volumes"))
	writable.One(t, taskDefType, "backend").Doc(t, "containerDefinitions", &defs)
	assert.Contains(t, defs[0].MountPoints, mountPoint{SourceVolume: "app-cache", ContainerPath: "/app/cache"})
}

func TestNoServiceRunsBeforeItsImageIsReleased(t *testing.T) {
	t.Parallel()
	// Before the first release there is no image to run: no task definition points at one
	// that was never pushed, no service fails and rolls back, no alarm pages about it.
	p := planOfShippedFile(t, "production")
	assert.Empty(t, p.All(taskDefType))
	assert.Empty(t, p.All(serviceType))
	assert.Empty(t, p.All(scalableTargetType))
	assert.Empty(t, p.All("aws:sfn/stateMachine:StateMachine"))
	for _, a := range p.All(alarmType) {
		for _, svc := range []string{"backend-", "frontend-", "alb-5xx"} {
			assert.Falsef(t, strings.HasPrefix(a.Name, svc), "alarm %s watches what does not run yet", a.Name)
		}
	}
	for _, name := range []string{"backendServiceName", "frontendServiceName", "backendTaskDefinitionArn"} {
		assert.NotContains(t, p.Outputs, name)
	}
	// What the first release needs is there: the repositories, the routing, the secrets.
	assert.NotNil(t, p.Find(repoType, "backend"))
	assert.NotNil(t, p.Find(repoType, "frontend"))
	assert.Len(t, p.All(tgType), 2)
	assert.NotNil(t, p.Find(secretType, "backend-api-key"))
	assert.Contains(t, strings.Join(p.Warnings, "\n"), "backend is not deployed: backendImageTag is unset")

	// One service can be released before the other.
	half := planOfShippedFile(t, "production", "backendImageTag=0a1b2c3")
	assert.NotNil(t, half.Find(serviceType, "backend"))
	assert.Nil(t, half.Find(serviceType, "frontend"))
	assert.Nil(t, half.Find(alarmType, "alb-5xx"), "the load balancer's default route (the frontend) has no target yet")
}

func TestContainerInsightsFollowsConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "containerInsights=false"))
	assert.Equal(t, []any{map[string]any{"name": "containerInsights", "value": "disabled"}},
		p.One(t, "aws:ecs/cluster:Cluster", "cluster").List("settings"))
}
