#!/usr/bin/env bash
# Refreshes the price file (internal/cost/prices.tsv) from the AWS Price List, where the network
# allows: for each row, the on-demand price of its usage type in the AWS Price List API
# ("aws pricing get-products", served from us-east-1), which replaces the row's price and makes
# it "sourced", dated today. A row whose usage type the API does not answer with exactly one
# on-demand price (a placeholder usage type, a discount, an allowance) is kept as it is and
# named on stderr. Prints the new file; review the difference before replacing the old one:
#
#   scripts/refresh-prices.sh > internal/cost/prices.tsv.new
#   diff internal/cost/prices.tsv internal/cost/prices.tsv.new   # review what changed, then
#   mv internal/cost/prices.tsv.new internal/cost/prices.tsv
#
# needs: the AWS CLI with credentials allowed pricing:GetProducts, jq. The tests never run it.
set -euo pipefail

file=${1:-internal/cost/prices.tsv}
today=$(date -u +%F)

# The Price List service code of each service of the file.
service_code() {
  case "$1" in
    Fargate) echo AmazonECS ;;
    RDS) echo AmazonRDS ;;
    ElastiCache) echo AmazonElastiCache ;;
    ELB) echo AWSELB ;;
    VPC) case "$2" in nat.*) echo AmazonEC2 ;; *) echo AmazonVPC ;; esac ;;
    CloudWatch) echo AmazonCloudWatch ;;
    S3) echo AmazonS3 ;;
    KMS) echo awskms ;;
    SecretsManager | "Secrets Manager") echo AWSSecretsManager ;;
    ECR) echo AmazonECR ;;
    WAF) echo awswaf ;;
    StepFunctions) echo AmazonStates ;;
    DataTransfer) echo AWSDataTransfer ;;
    *) echo "" ;;
  esac
}

# The filters that tell one product of a usage type from another: the database engine and
# deployment of an RDS instance, the engine of a cache node.
extra_filters() {
  local item=$1
  case "$item" in
    rds.postgres.*.multi-az) echo "Type=TERM_MATCH,Field=databaseEngine,Value=PostgreSQL Type=TERM_MATCH,Field=deploymentOption,Value=Multi-AZ" ;;
    rds.postgres.*) echo "Type=TERM_MATCH,Field=databaseEngine,Value=PostgreSQL Type=TERM_MATCH,Field=deploymentOption,Value=Single-AZ" ;;
    elasticache.redis.*) echo "Type=TERM_MATCH,Field=cacheEngine,Value=Redis" ;;
    elasticache.valkey.*) echo "Type=TERM_MATCH,Field=cacheEngine,Value=Valkey" ;;
  esac
}

while IFS= read -r line; do
  if [[ $line == \#* ]] || [[ $line == region$'\t'* ]] || [ -z "$line" ]; then
    printf '%s\n' "$line"
    continue
  fi
  IFS=$'\t' read -r region service item usage_type unit _ _ _ _ note <<<"$line"
  code=$(service_code "$service" "$item")
  if [ -z "$code" ] || [[ ! $usage_type =~ ^[A-Z0-9]+-[A-Za-z0-9:._-]+$ ]]; then
    echo "kept: $region $item (no usage type the Price List can be asked for: '$usage_type')" >&2
    printf '%s\n' "$line"
    continue
  fi
  # shellcheck disable=SC2046 # the extra filters are words on purpose
  prices=$(aws pricing get-products --region us-east-1 --service-code "$code" \
    --filters "Type=TERM_MATCH,Field=usagetype,Value=$usage_type" $(extra_filters "$item") \
    --output json |
    jq -r '[.PriceList[] | fromjson | .terms.OnDemand // {} | .[] | .priceDimensions[]
      | select((.beginRange // "0") == "0") | .pricePerUnit.USD | tonumber | select(. > 0)] | unique | .[]')
  # The first tier of a tiered price (S3 storage, data out): the file prices the first tier.
  if [ -z "$prices" ] || [ "$(wc -l <<<"$prices")" -ne 1 ]; then
    echo "kept: $region $item ($usage_type): the Price List answered $(wc -w <<<"$prices") prices" >&2
    printf '%s\n' "$line"
    continue
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\tsourced\tAWS Price List API (aws pricing get-products, %s %s)\t%s\t%s\n' \
    "$region" "$service" "$item" "$usage_type" "$unit" "$prices" "$code" "$usage_type" "$today" "${note:-}"
done <"$file"
