package main

import (
	"coldchain/internal/offline"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trackingOf returns a policy's target-tracking configuration.
func trackingOf(t *testing.T, p *offline.Plan, name string) (map[string]any, map[string]any) {
	t.Helper()
	policy := p.One(t, scalingPolicyType, name)
	assert.Equal(t, "TargetTrackingScaling", policy.In("policyType"))
	conf := policy.Obj("targetTrackingScalingPolicyConfiguration")
	require.NotNil(t, conf)
	return conf, conf["predefinedMetricSpecification"].(map[string]any)
}

func TestScalableTargetsUseTheServiceResourceIdAndSeedBounds(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	for name, bounds := range map[string][2]float64{"backend": {2, 10}, "frontend": {2, 6}} {
		target := p.One(t, scalableTargetType, name)
		assert.Equal(t, "ecs", target.In("serviceNamespace"))
		assert.Equal(t, "ecs:service:DesiredCount", target.In("scalableDimension"))
		// Application Auto Scaling names an ECS service "service/<cluster name>/<service name>".
		assert.Equal(t, "service/coldchain-production/coldchain-production-"+name, target.In("resourceId"))
		assert.Equal(t, bounds[0], target.Num("minCapacity"), name)
		assert.Equal(t, bounds[1], target.Num("maxCapacity"), name)
	}
}

func TestPoliciesTrackTheSeedTargets(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	for _, tc := range []struct {
		service, name, metric string
		target                float64
	}{
		{"backend", "backend-cpu", "ECSServiceAverageCPUUtilization", 70},
		{"backend", "backend-memory", "ECSServiceAverageMemoryUtilization", 80},
		{"backend", "backend-requests", "ALBRequestCountPerTarget", 1000},
		{"frontend", "frontend-cpu", "ECSServiceAverageCPUUtilization", 70},
		{"frontend", "frontend-memory", "ECSServiceAverageMemoryUtilization", 80},
	} {
		conf, metric := trackingOf(t, p, tc.name)
		assert.Equal(t, tc.metric, metric["predefinedMetricType"], tc.name)
		assert.Equal(t, tc.target, conf["targetValue"], tc.name)
		assert.Equal(t, float64(300), conf["scaleInCooldown"], tc.name)
		assert.Equal(t, float64(60), conf["scaleOutCooldown"], tc.name)
		assert.Equal(t, p.One(t, scalableTargetType, tc.service).In("resourceId"), p.One(t, scalingPolicyType, tc.name).In("resourceId"))
	}
	assert.Len(t, p.All(scalingPolicyType), 5, "the frontend does not scale on requests")
}

func TestRequestCountLabelJoinsTheLoadBalancerAndTargetGroupSuffixes(t *testing.T) {
	t.Parallel()
	p := planOf(t, minimalConfig())
	_, metric := trackingOf(t, p, "backend-requests")
	alb := p.One(t, albType, "alb")
	tg := p.One(t, tgType, "backend")
	assert.Equal(t, alb.Outputs["arnSuffix"].(string)+"/"+tg.Outputs["arnSuffix"].(string), metric["resourceLabel"])
	// The format CloudWatch and Application Auto Scaling expect.
	assert.Regexp(t, `^app/[a-z0-9-]+/[0-9a-f]{16}/targetgroup/[a-z0-9-]+/[0-9a-f]{16}$`, metric["resourceLabel"])
}

func TestScalingBoundsAndTargetsFollowConfig(t *testing.T) {
	t.Parallel()
	p := planOf(t, with(minimalConfig(), "backendMinTasks=3", "backendMaxTasks=20", "backendCpuTarget=60",
		"backendRequestsPerTarget=0", "scaleInCooldownSeconds=600"))
	target := p.One(t, scalableTargetType, "backend")
	assert.Equal(t, float64(3), target.Num("minCapacity"))
	assert.Equal(t, float64(20), target.Num("maxCapacity"))
	assert.Equal(t, float64(3), p.One(t, serviceType, "backend").Num("desiredCount"), "the desired count starts at the minimum")
	conf, _ := trackingOf(t, p, "backend-cpu")
	assert.Equal(t, float64(60), conf["targetValue"])
	assert.Equal(t, float64(600), conf["scaleInCooldown"])
	assert.Len(t, p.All(scalingPolicyType), 4, "backendRequestsPerTarget=0 turns request scaling off")
}
