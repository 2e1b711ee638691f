package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AutoscalingArgs names the services to scale and how.
type AutoscalingArgs struct {
	// ClusterName and AlbArnSuffix locate the services and the load balancer's metrics.
	ClusterName  pulumi.StringInput
	AlbArnSuffix pulumi.StringInput
	// Services are the released services, each with its bounds and targets.
	Services []ScaledService
	// ScaleInCooldown and ScaleOutCooldown pace every policy, in seconds.
	ScaleInCooldown  int
	ScaleOutCooldown int
}

// ScaledService is one running service and its scaling settings.
type ScaledService struct {
	Key string
	// ServiceName is the ECS service; TargetGroupArnSuffix its target group's metric label.
	ServiceName          pulumi.StringInput
	TargetGroupArnSuffix pulumi.StringInput
	// MinTasks and MaxTasks bound the task count; the targets are percent, RequestsPerTarget
	// requests per task (0: no request-count policy).
	MinTasks, MaxTasks                         int
	CPUTarget, MemoryTarget, RequestsPerTarget int
	// QueueName is the SQS queue a worker consumes ("": none); MessagesPerTask the backlog per
	// running task its policy keeps.
	QueueName       string
	MessagesPerTask int
}

// Autoscaling is the scalable targets and target-tracking policies of both services.
type Autoscaling struct {
	pulumi.ResourceState
}

// scalingMetric is one target-tracking policy: a predefined metric and its target value.
type scalingMetric struct {
	name   string
	metric string
	target int
}

// NewAutoscaling scales each service between its bounds on CPU and memory and the backend also
// on ALB requests per target.
func NewAutoscaling(ctx *pulumi.Context, name string, args *AutoscalingArgs, opts ...pulumi.ResourceOption) (*Autoscaling, error) {
	a := &Autoscaling{}
	if err := ctx.RegisterComponentResource("coldchain:index:Autoscaling", name, a, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(a)
	for _, svc := range args.Services {
		cfg := svc
		target, err := appautoscaling.NewTarget(ctx, svc.Key, &appautoscaling.TargetArgs{
			ServiceNamespace:  pulumi.String("ecs"),
			ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
			ResourceId:        scalableResourceID(args.ClusterName, svc.ServiceName),
			MinCapacity:       pulumi.Int(cfg.MinTasks),
			MaxCapacity:       pulumi.Int(cfg.MaxTasks),
		}, child, oncePerParent)
		if err != nil {
			return nil, fmt.Errorf("creating %s scalable target: %w", svc.Key, err)
		}
		metrics := []scalingMetric{
			{"cpu", "ECSServiceAverageCPUUtilization", cfg.CPUTarget},
			{"memory", "ECSServiceAverageMemoryUtilization", cfg.MemoryTarget},
		}
		if cfg.RequestsPerTarget > 0 {
			metrics = append(metrics, scalingMetric{"requests", "ALBRequestCountPerTarget", cfg.RequestsPerTarget})
		}
		if cfg.QueueName != "" {
			if _, err := appautoscaling.NewPolicy(ctx, svc.Key+"-queue", &appautoscaling.PolicyArgs{
				PolicyType:        pulumi.String("TargetTrackingScaling"),
				ServiceNamespace:  target.ServiceNamespace,
				ScalableDimension: target.ScalableDimension,
				ResourceId:        target.ResourceId,
				TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
					CustomizedMetricSpecification: backlogPerTask(cfg.QueueName, args.ClusterName, svc.ServiceName),
					TargetValue:                   pulumi.Float64(float64(cfg.MessagesPerTask)),
					ScaleInCooldown:               pulumi.Int(args.ScaleInCooldown),
					ScaleOutCooldown:              pulumi.Int(args.ScaleOutCooldown),
				},
			}, child); err != nil {
				return nil, fmt.Errorf("creating %s queue scaling policy: %w", svc.Key, err)
			}
		}
		for _, m := range metrics {
			spec := &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String(m.metric),
			}
			if m.metric == "ALBRequestCountPerTarget" {
				spec.ResourceLabel = requestCountLabel(args.AlbArnSuffix, svc.TargetGroupArnSuffix)
			}
			if _, err := appautoscaling.NewPolicy(ctx, svc.Key+"-"+m.name, &appautoscaling.PolicyArgs{
				PolicyType:        pulumi.String("TargetTrackingScaling"),
				ServiceNamespace:  target.ServiceNamespace,
				ScalableDimension: target.ScalableDimension,
				ResourceId:        target.ResourceId,
				TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
					PredefinedMetricSpecification: spec,
					TargetValue:                   pulumi.Float64(float64(m.target)),
					ScaleInCooldown:               pulumi.Int(args.ScaleInCooldown),
					ScaleOutCooldown:              pulumi.Int(args.ScaleOutCooldown),
				},
			}, child); err != nil {
				return nil, fmt.Errorf("creating %s %s scaling policy: %w", svc.Key, m.name, err)
			}
		}
	}
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{}); err != nil {
		return nil, err
	}
	return a, nil
}

// scalableResourceID is Application Auto Scaling's id of an ECS service:
// "service/<cluster name>/<service name>".
func scalableResourceID(cluster, service pulumi.StringInput) pulumi.StringOutput {
	return pulumi.Sprintf("service/%s/%s", cluster, service)
}

// requestCountLabel is the resource label of ALBRequestCountPerTarget:
// "app/<alb name>/<alb id>/targetgroup/<target group name>/<target group id>", the ARN
// suffixes of the load balancer and of the target group joined by "/".
func requestCountLabel(albArnSuffix, targetGroupArnSuffix pulumi.StringInput) pulumi.StringOutput {
	return pulumi.Sprintf("%s/%s", albArnSuffix, targetGroupArnSuffix)
}

// backlogPerTask is a queue's visible messages per running task: what AWS's guide to scaling
// on SQS tracks, since the queue's length alone says nothing about whether the tasks keep up.
// Metric math in a target-tracking policy: the queue's ApproximateNumberOfMessagesVisible over
// the service's RunningTaskCount (Container Insights, which a worker with a queue requires).
func backlogPerTask(queueName string, cluster, service pulumi.StringInput) *appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationArgs {
	type dims = appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArray
	type dim = appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArgs
	stat := func(id, namespace, name, statistic string, dimensions dims) *appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArgs {
		return &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArgs{
			Id: pulumi.String(id),
			MetricStat: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatArgs{
				Metric: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricArgs{
					Namespace: pulumi.String(namespace), MetricName: pulumi.String(name), Dimensions: dimensions,
				},
				Stat: pulumi.String(statistic),
			},
			ReturnData: pulumi.Bool(false),
		}
	}
	return &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationArgs{
		Metrics: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArray{
			stat("visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Sum",
				dims{&dim{Name: pulumi.String("QueueName"), Value: pulumi.String(queueName)}}),
			stat("tasks", "ECS/ContainerInsights", "RunningTaskCount", "Average",
				dims{&dim{Name: pulumi.String("ClusterName"), Value: cluster}, &dim{Name: pulumi.String("ServiceName"), Value: service}}),
			&appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArgs{
				Id: pulumi.String("backlog"), Expression: pulumi.String("visible / tasks"),
				Label: pulumi.String("visible messages per running task"), ReturnData: pulumi.Bool(true),
			},
		},
	}
}
