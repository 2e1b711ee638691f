package main

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/budgets"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/costexplorer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// costTags are the application's tags a stack's costs are told apart by: every resource of a
// stack carries Project and Environment (its provider's default tags).
var costTags = []string{"Project", "Environment"}

// newBudgets creates a monthly cost budget per stack, over the costs tagged with its
// environment, that e-mails the alarm address when the actual costs pass 80% and 100% of it
// and when the forecast passes 100%. The tags count as cost allocation tags once activated
// (activateCostTags): AWS activates only tags its billing has seen, so not before the stacks
// have deployed; until then the budgets count nothing.
func newBudgets(ctx *pulumi.Context, c *Config, opts ...pulumi.ResourceOption) error {
	var tags []pulumi.Resource
	for _, key := range costTagsOf(c) {
		tag, err := costexplorer.NewCostAllocationTag(ctx, key, &costexplorer.CostAllocationTagArgs{
			TagKey: pulumi.String(key), Status: pulumi.String("Active"),
		}, opts...)
		if err != nil {
			return err
		}
		tags = append(tags, tag)
	}
	for _, s := range c.Stacks {
		notify := func(kind string, percent float64) *budgets.BudgetNotificationArgs {
			return &budgets.BudgetNotificationArgs{
				NotificationType: pulumi.String(kind), ComparisonOperator: pulumi.String("GREATER_THAN"),
				Threshold: pulumi.Float64(percent), ThresholdType: pulumi.String("PERCENTAGE"),
				SubscriberEmailAddresses: pulumi.ToStringArray([]string{c.AlarmEmail}),
			}
		}
		if _, err := budgets.NewBudget(ctx, s.Name, &budgets.BudgetArgs{
			Name:        pulumi.String(s.Prefix + "-monthly"),
			BudgetType:  pulumi.String("COST"),
			TimeUnit:    pulumi.String("MONTHLY"),
			LimitAmount: pulumi.String(strconv.FormatFloat(s.MonthlyBudgetUSD, 'f', 2, 64)),
			LimitUnit:   pulumi.String("USD"),
			CostFilters: budgets.BudgetCostFilterArray{&budgets.BudgetCostFilterArgs{
				Name: pulumi.String("TagKeyValue"), Values: pulumi.ToStringArray([]string{"user:Environment$" + s.Environment}),
			}},
			Notifications: budgets.BudgetNotificationArray{notify("ACTUAL", 80), notify("ACTUAL", 100), notify("FORECASTED", 100)},
		}, append(opts, pulumi.DependsOn(tags))...); err != nil {
			return fmt.Errorf("creating the budget of %s: %w", s.Name, err)
		}
	}
	return nil
}

// costTagsOf are the tags the stack activates: none until activateCostTags.
func costTagsOf(c *Config) []string {
	if !c.ActivateCostTags {
		return nil
	}
	return costTags
}
