#!/usr/bin/env bash
# Releases images to a stack. Checks that each image was pushed to its service's repository and
# that every secret the program declares has a value, then writes the tags into
# Pulumi.<stack>.yaml, the one place that says what the stack runs. Commit that file: the pull
# request's preview shows the new task definitions, and merging it deploys (the deploy workflow).
# A rollback is a release of the previous tags. The services are the stack's (each has an
# <service>EcrRepositoryUrl output), not a list kept here.
#
# usage: scripts/release.sh STACK TAG                       every service runs TAG
#        scripts/release.sh STACK SERVICE=TAG [SERVICE=TAG ...]   the services named; the others keep theirs
# needs: the Pulumi CLI logged in to the stack's backend, the AWS CLI with credentials, jq.
set -euo pipefail

usage="usage: scripts/release.sh STACK TAG | scripts/release.sh STACK SERVICE=TAG [SERVICE=TAG ...]"
stack=${1:?$usage}
shift
[ "$#" -ge 1 ] || { echo "$usage" >&2; exit 2; }

outputs=$(pulumi stack output --stack "$stack" --json)
region=$(pulumi config get aws:region --stack "$stack")
services=$(jq -r 'keys[] | select(endswith("EcrRepositoryUrl")) | sub("EcrRepositoryUrl$"; "")' <<<"$outputs")
if [ -z "$services" ]; then
  echo "$stack has no services in its outputs: deploy it once (pulumi up) before releasing to it." >&2
  exit 1
fi

# The release: service and tag, one per line.
release=""
if [ "$#" = 1 ] && [[ $1 != *=* ]]; then
  for service in $services; do
    release+="$service $1"$'\n'
  done
else
  for pair in "$@"; do
    service=${pair%%=*} tag=${pair#*=}
    if [[ $pair != *=* ]] || [ -z "$tag" ] || ! grep -qxF "$service" <<<"$services"; then
      echo "$pair: want SERVICE=TAG with one of the stack's services: $(echo "$services" | tr '\n' ' ')" >&2
      exit 2
    fi
    release+="$service $tag"$'\n'
  done
fi

failed=0
while read -r service tag; do
  [ -n "$service" ] || continue
  repository=$(jq -r --arg key "${service}EcrRepositoryUrl" '.[$key]' <<<"$outputs")
  if ! aws ecr describe-images --region "$region" --repository-name "${repository#*/}" \
      --image-ids imageTag="$tag" >/dev/null 2>&1; then
    echo "$service: no image $repository:$tag; push it first (docs/runbook.md, \"Build and push the images\")." >&2
    failed=1
  fi
done <<<"$release"

for arn in $(jq -r 'to_entries[] | select(.key | endswith("SecretArns")) | .value | .[]' <<<"$outputs"); do
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

while read -r service tag; do
  [ -n "$service" ] || continue
  pulumi config set --stack "$stack" "${service}ImageTag" "$tag"
  echo "$stack releases $service $tag."
done <<<"$release"
echo "Commit Pulumi.${stack##*/}.yaml and open a pull request; merging deploys it. Or deploy it now: pulumi up --stack $stack"
