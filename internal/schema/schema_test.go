package schema

import "testing"

func TestReplacedByMatchesAPathAndEverythingUnderIt(t *testing.T) {
	typ := &Type{Replaces: []string{"volumes", "rules.*.filter"}}
	for path, want := range map[string]bool{
		"volumes":                true,
		"volumes.0.name":         true,
		"volumesExtra":           false,
		"rules.3.filter.prefix":  true,
		"rules.*.filter":         true,
		"rules.0.status":         false,
		"rules":                  false,
		"containerDefinitions.0": false,
	} {
		if got := typ.ReplacedBy(path); got != want {
			t.Errorf("ReplacedBy(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestAnECSServiceChangesItsCapacityProvidersInPlaceOnlyWithForceNewDeployment follows the
// provider's capacityProviderStrategyCustomizeDiff (terraform-provider-aws v5).
func TestAnECSServiceChangesItsCapacityProvidersInPlaceOnlyWithForceNewDeployment(t *testing.T) {
	svc, _ := Lookup("aws:ecs/service:Service")
	spot := []any{map[string]any{"capacityProvider": "FARGATE_SPOT", "weight": 1.0}}
	onDemand := []any{map[string]any{"capacityProvider": "FARGATE", "weight": 1.0}}
	for _, c := range []struct {
		name     string
		from, to any
		force    bool
		replaces bool
	}{
		{"strategy to strategy, forced deployment", onDemand, spot, true, false},
		{"strategy to strategy, no forced deployment", onDemand, spot, false, true},
		{"launch type to strategy, forced deployment", nil, spot, true, true},
		{"strategy to none, forced deployment", spot, []any{}, true, true},
	} {
		got := svc.Decides("capacityProviderStrategies", Change{From: c.from, To: c.to, After: map[string]any{"forceNewDeployment": c.force}})
		if got != c.replaces {
			t.Errorf("%s: replaces = %v, want %v", c.name, got, c.replaces)
		}
	}
}

func TestValkeyIsAnInPlaceUpgradeOfRedisButADowngradeReplaces(t *testing.T) {
	group, _ := Lookup("aws:elasticache/replicationGroup:ReplicationGroup")
	for _, c := range []struct {
		input, from, to string
		replaces        bool
	}{
		{"engine", "redis", "valkey", false},
		{"engine", "valkey", "redis", true},
		{"engineVersion", "7.1", "8.0", false},
		{"engineVersion", "8.0", "7.2", true},
	} {
		if got := group.Decides(c.input, Change{From: c.from, To: c.to}); got != c.replaces {
			t.Errorf("%s %s -> %s: replaces = %v, want %v", c.input, c.from, c.to, got, c.replaces)
		}
	}
}
