#!/usr/bin/env bash
# Checks that each service runs what the stack deployed. "pulumi up" waits for every service to
# reach steady state, but a deployment that ECS rolled back (circuit breaker or deployment
# alarm) also ends in steady state, on the previous task definition, and the provider reports
# success (pulumi/pulumi-aws#4487). This compares each service's primary deployment with the
# stack's task definition outputs and fails unless both match and the rollout completed.
#
# usage: scripts/verify-deployment.sh STACK     (e.g. production, or my-org/production)
# needs: the Pulumi CLI logged in to the stack's backend, the AWS CLI with credentials, jq.
set -euo pipefail

stack=${1:?usage: scripts/verify-deployment.sh STACK}
outputs=$(pulumi stack output --stack "$stack" --json)
output() { jq -r --arg key "$1" '.[$key] // empty' <<<"$outputs"; }

region=$(pulumi config get aws:region --stack "$stack")
cluster=$(output ecsClusterName)
failed=0
for service in backend frontend; do
  name=$(output "${service}ServiceName")
  want=$(output "${service}TaskDefinitionArn")
  if [ -z "$name" ]; then
    echo "$service: not released yet (${service}ImageTag is unset)"
    continue
  fi
  # shellcheck disable=SC2016 # the backticks are JMESPath literals, not shell
  read -r running state < <(aws ecs describe-services --region "$region" --cluster "$cluster" --services "$name" \
    --query 'services[0].deployments[?status==`PRIMARY`] | [0].[taskDefinition, rolloutState]' --output text)
  if [ "$running" = "$want" ] && [ "$state" = "COMPLETED" ]; then
    echo "$name: runs $want"
  else
    echo "$name: deployment of $want did not complete: the primary deployment runs $running ($state)." >&2
    echo "  See why: aws ecs describe-services --region $region --cluster $cluster --services $name --query 'services[0].events[:10]'" >&2
    failed=1
  fi
done
exit "$failed"
