#!/usr/bin/env bash
# Releases images to a stack. Checks that each image was pushed to the stack's repository and
# that every secret the program declares for the backend has a value, then writes the tags into
# Pulumi.<stack>.yaml, the one place that says what the stack runs. Commit that file: the pull
# request's preview shows the new task definitions, and merging it deploys (the deploy workflow).
# A rollback is a release of the previous tag.
#
# usage: scripts/release.sh STACK BACKEND_TAG [FRONTEND_TAG]   (FRONTEND_TAG defaults to BACKEND_TAG)
# needs: the Pulumi CLI logged in to the stack's backend, the AWS CLI with credentials, jq.
set -euo pipefail

stack=${1:?usage: scripts/release.sh STACK BACKEND_TAG [FRONTEND_TAG]}
backend_tag=${2:?usage: scripts/release.sh STACK BACKEND_TAG [FRONTEND_TAG]}
frontend_tag=${3:-$backend_tag}

outputs=$(pulumi stack output --stack "$stack" --json)
region=$(pulumi config get aws:region --stack "$stack")
failed=0

for pair in "backend $backend_tag" "frontend $frontend_tag"; do
  read -r service tag <<<"$pair"
  repository=$(jq -r --arg key "${service}EcrRepositoryUrl" '.[$key]' <<<"$outputs")
  if ! aws ecr describe-images --region "$region" --repository-name "${repository#*/}" \
      --image-ids imageTag="$tag" >/dev/null 2>&1; then
    echo "$service: no image $repository:$tag; push it first (README, Build and push the images)." >&2
    failed=1
  fi
done

for arn in $(jq -r '.backendSecretArns // {} | .[]' <<<"$outputs"); do
  if ! aws secretsmanager describe-secret --region "$region" --secret-id "$arn" \
      --query 'VersionIdsToStages' --output json | grep -q AWSCURRENT; then
    echo "secret $arn has no value; set it first:" >&2
    echo "  aws secretsmanager put-secret-value --region $region --secret-id $arn --secret-string '...'" >&2
    failed=1
  fi
done
if [ "$failed" != 0 ]; then
  exit 1
fi

pulumi config set --stack "$stack" backendImageTag "$backend_tag"
pulumi config set --stack "$stack" frontendImageTag "$frontend_tag"
echo "The stack file of $stack now releases backend $backend_tag and frontend $frontend_tag."
echo "Commit it and open a pull request; merging deploys it. Or deploy it now: pulumi up --stack $stack"
