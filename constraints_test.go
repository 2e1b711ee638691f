package main

import (
	"coldchain/internal/guard"
	"coldchain/internal/offline"
	"strings"
	"testing"
)

func TestAWSConstraintsHoldForEveryStackAndVariation(t *testing.T) {
	t.Parallel()
	checkVariations(t, guard.Constraints)
}

func TestEveryResourceTypeHasItsNameRules(t *testing.T) {
	t.Parallel()
	// A new resource type with a name must come with its AWS rules.
	for _, v := range variations[:1] {
		for _, r := range planOfVariation(t, v).Resources {
			_, autonamedType := offline.AutonamedProperty(r.Type)
			_, named := r.Inputs["name"]
			if (autonamedType || named) && r.Custom {
				if !guard.HasNameRules(r.Type) {
					t.Errorf("%s has a physical name but no entry in nameRules", r.Type)
				}
			}
		}
	}
}

func TestNameRulesCatchBadNames(t *testing.T) {
	t.Parallel()
	bad := clonePlan(t, planOfVariation(t, variations[0]))
	bad.One(t, albType, "alb").Outputs["name"] = strings.Repeat("a", 33)
	bad.One(t, dbType, "postgres").Inputs["identifier"] = "cold--chain"
	bad.One(t, repoType, "backend").Inputs["name"] = "Coldchain/Backend"
	if got := guard.Find("AWS-01").Check(bad); len(got) != 3 {
		t.Errorf("AWS-01 found %d problems in a plan with 3 bad names: %v", len(got), got)
	}
	assertCatches(t, "AWS-01", planOfVariation(t, variations[0]), bad)
}

func TestAWSConstraintsCatchViolations(t *testing.T) {
	t.Parallel()
	base := planOfVariation(t, variations[0])
	for _, tc := range []brokenPlan{
		{"AWS-02", func(p *offline.Plan) { p.One(t, taskDefType, "backend").Inputs["memory"] = "16384" }},
		{"AWS-03", func(p *offline.Plan) {
			p.One(t, "aws:rds/parameterGroup:ParameterGroup", "postgres").Inputs["family"] = "postgres13"
		}},
		{"AWS-04", func(p *offline.Plan) { p.One(t, dbType, "postgres").Inputs["backupWindow"] = "3:00-4:00" }},
		{"AWS-04", func(p *offline.Plan) {
			db := p.One(t, dbType, "postgres")
			db.Inputs["maintenanceWindow"] = "mon:" + strings.Replace(db.In("backupWindow"), "-", "-mon:", 1)
		}},
		{"AWS-05", func(p *offline.Plan) { p.One(t, ruleType, "backend").Inputs["priority"] = 50001.0 }},
		{"AWS-06", func(p *offline.Plan) {
			p.One(t, rolePolicy, "backend-task").Inputs["policy"] = `{"Version":"2012-10-17",`
		}},
		{"AWS-07", func(p *offline.Plan) {
			p.One(t, alarmType, "alb-5xx").Inputs["dimensions"] = map[string]any{"LoadBalancer": p.One(t, albType, "alb").Outputs["arn"]}
		}},
		{"AWS-07", func(p *offline.Plan) {
			p.One(t, scalableTargetType, "backend").Inputs["resourceId"] = "coldchain/backend"
		}},
		{"AWS-08", func(p *offline.Plan) {
			r := p.One(t, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "backend")
			r.Inputs["policy"] = strings.Replace(r.In("policy"), `"tagStatus":"any"`, `"tagStatus":"any"},{"rulePriority":999,"description":"x","selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}`, 1)
		}},
	} {
		broken := clonePlan(t, base)
		tc.break_(broken)
		assertCatches(t, tc.rule, base, broken)
	}
}
