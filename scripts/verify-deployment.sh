#!/usr/bin/env bash
# Checks that each service runs what the stack deployed, and that the stack's copies in its DR
# region are there. "pulumi up" waits for every service to reach steady state, but a deployment
# that ECS rolled back (circuit breaker or deployment alarm) also ends in steady state, on the
# previous task definition, and the provider reports success (pulumi/pulumi-aws#4487). This
# compares each service's primary deployment with the stack's task definition outputs and fails
# unless both match and the rollout completed; a rollout still in progress on the deployed task
# definition (the redeploy after a secret changed, say) is waited for, up to WAIT_SECONDS
# (default 900). With a DR region, it also checks what a failover needs there: the database's
# backups replicating (a failure), the released images and the declared secrets' replicas (a
# warning while they may still be on their way: a push replicates within about 30 minutes, and
# an image pushed before replication was set up never does). CHECK_DR=0 skips those checks.
#
# usage: scripts/verify-deployment.sh STACK     (e.g. production, or my-org/production)
# needs: the Pulumi CLI logged in to the stack's backend, the AWS CLI with credentials, jq.
set -euo pipefail

stack=${1:?usage: scripts/verify-deployment.sh STACK}
wait_seconds=${WAIT_SECONDS:-900}
outputs=$(pulumi stack output --stack "$stack" --json)
output() { jq -r --arg key "$1" '.[$key] // empty' <<<"$outputs"; }

region=$(pulumi config get aws:region --stack "$stack")
cluster=$(output ecsClusterName)
# The stack's services: each has a repository, released or not.
services=$(jq -r 'keys[] | select(endswith("EcrRepositoryUrl")) | sub("EcrRepositoryUrl$"; "")' <<<"$outputs")
if [ -z "$services" ]; then
  echo "$stack has no services in its outputs: nothing deployed to check." >&2
  exit 1
fi
failed=0
for service in $services; do
  name=$(output "${service}ServiceName")
  want=$(output "${service}TaskDefinitionArn")
  if [ -z "$name" ]; then
    echo "$service: not released yet (${service}ImageTag is unset)"
    continue
  fi
  deadline=$((SECONDS + wait_seconds))
  while :; do
    # shellcheck disable=SC2016 # the backticks are JMESPath literals, not shell
    if ! primary=$(aws ecs describe-services --region "$region" --cluster "$cluster" --services "$name" \
      --query 'services[0].deployments[?status==`PRIMARY`] | [0].[taskDefinition, rolloutState]' --output text); then
      echo "$name: could not read the service (aws ecs describe-services failed above)." >&2
      running="" state="unknown"
      break
    fi
    read -r running state <<<"$primary"
    if [ "$running" != "$want" ] || [ "$state" != "IN_PROGRESS" ] || [ "$SECONDS" -ge "$deadline" ]; then
      break
    fi
    echo "$name: a rollout of $want is in progress; waiting"
    sleep 15
  done
  if [ "$running" = "$want" ] && [ "$state" = "COMPLETED" ]; then
    echo "$name: runs $want"
  else
    echo "$name: deployment of $want did not complete: the primary deployment runs $running ($state)." >&2
    echo "  See why: aws ecs describe-services --region $region --cluster $cluster --services $name --query 'services[0].events[:10]'" >&2
    failed=1
  fi
done

dr=$(output drRegion)
if [ -n "$dr" ] && [ "${CHECK_DR:-1}" != 0 ]; then
  # The database's automated backups, replicating into the DR region.
  db=$(output databaseEndpoint | cut -d. -f1)
  replicating=$(aws rds describe-db-instance-automated-backups --region "$dr" \
    --query "length(DBInstanceAutomatedBackups[?DBInstanceIdentifier=='$db' && Status=='replicating'])" --output text) || replicating=0
  if [ "$replicating" -ge 1 ]; then
    echo "database $db: backups replicating to $dr"
  else
    echo "database $db: no backups replicating to $dr: the failover has nothing to restore." >&2
    echo "  See: aws rds describe-db-instance-automated-backups --region $dr --db-instance-identifier $db" >&2
    failed=1
  fi
  # The released images, in the DR region's repositories of the same names.
  for service in $services; do
    tag=$(pulumi config get "${service}ImageTag" --stack "$stack" 2>/dev/null || true)
    [ -n "$tag" ] || continue
    repository=$(output "${service}EcrRepositoryUrl")
    if aws ecr describe-images --region "$dr" --repository-name "${repository#*/}" --image-ids imageTag="$tag" >/dev/null 2>&1; then
      echo "$service image $tag: in $dr"
    else
      echo "warning: $service image $tag: not in $dr (the registry replicates a push within about 30 minutes, and never one pushed before replication was set up: push it there by hand if it stays missing)." >&2
    fi
  done
  # The declared secrets' replicas.
  for arn in $(jq -r 'to_entries[] | select(.key | endswith("SecretArns")) | .value | .[]' <<<"$outputs"); do
    status=$(aws secretsmanager describe-secret --region "$region" --secret-id "$arn" \
      --query "ReplicationStatus[?Region=='$dr'] | [0].Status" --output text) || status="unreadable"
    case "$status" in
      InSync) echo "secret $arn: replica in $dr in sync" ;;
      InProgress) echo "warning: secret $arn: replica in $dr still in progress; run this again later." >&2 ;;
      *)
        echo "secret $arn: replica in $dr is $status, not InSync." >&2
        echo "  See: aws secretsmanager describe-secret --region $region --secret-id $arn --query ReplicationStatus" >&2
        failed=1
        ;;
    esac
  done
fi
exit "$failed"
