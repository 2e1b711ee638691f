#!/usr/bin/env python3
"""Writes the test estates of adopt from seed.tfstate, as Terraform teams would have built the
seed's setup ("a Multi-AZ VPC with public and private subnets", "HTTPS termination and
routing", "Database and cache in private subnets"): python3 testdata/adopt/estates.py.

seed.tfstate is the three-tier variant (a team that gave the database its own subnets, HTTP
only). From it:
  two-tier.tfstate      the seed's own layout: RDS and ElastiCache in the private subnets,
                        beside the tasks; HTTPS with an ACM certificate validated in Route 53
                        and an alias record; the team's service names (<project>-<env>-<svc>-service);
                        pg_stat_statements preloaded.
  two-tier-ac.tfstate   the same in ap-northeast-2a and 2c.
  extras.tfstate        the two-tier estate with what a team adds over time and the stack does not
                        declare: more alarms, a log metric filter, an SMS subscription, a policy,
                        an interface endpoint, a random password.
The output is deterministic; the files are committed and the tests read them.
"""
import copy
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
ACCOUNT = "111122223333"
REGION = "ap-northeast-2"
ZONE_ID = "Z04712313QD7E5UO8GSXV"
DOMAIN = "dispatch.coldchain.example"
CERT_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/3c9b1f4e-52d7-4a8e-9e61-0f2a7d4c8b15"
VALIDATION_NAME = f"_8f14e45fceea167a5a36dedd4bea2543.{DOMAIN}"
VALIDATION_VALUE = "_c9f0f895fb98ab9159f51fd0297e236d.mhbtsbpdnt.acm-validations.aws."


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def save(state, name):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(state, f, indent=2)
        f.write("\n")


def block(state, typ, name):
    for r in state["resources"]:
        if r["type"] == typ and r["name"] == name:
            return r
    raise KeyError(typ + "." + name)


def attrs(state, typ, name, index=0):
    return block(state, typ, name)["instances"][index]["attributes"]


def drop(state, typ, name):
    state["resources"] = [r for r in state["resources"] if not (r["type"] == typ and r["name"] == name)]


def add(state, typ, name, attributes, after=None, mode="managed", provider=PROVIDER, sensitive=()):
    r = {"mode": mode, "type": typ, "name": name, "provider": provider,
         "instances": [{"schema_version": 0, "attributes": attributes,
                        "sensitive_attributes": [[{"type": "get_attr", "value": s}] for s in sensitive]}]}
    if after is None:
        state["resources"].append(r)
        return
    i = next(i for i, b in enumerate(state["resources"]) if (b["type"], b["name"]) == after)
    state["resources"].insert(i + 1, r)


def replace_everywhere(state, pattern, repl):
    text = re.sub(pattern, repl, json.dumps(state))
    return json.loads(text)


def two_tier(seed):
    s = copy.deepcopy(seed)
    s["serial"] = 214
    s["lineage"] = "6d1f3a52-9b0e-4c7d-8e21-3f5a6b7c8d9e"
    # RDS and ElastiCache in the private subnets, where the tasks run: no database tier.
    private = [i["attributes"]["id"] for i in block(s, "aws_subnet", "private")["instances"]]
    for typ in ("aws_subnet", "aws_route_table", "aws_route_table_association"):
        drop(s, typ, "database")
    attrs(s, "aws_db_subnet_group", "main")["subnet_ids"] = private
    attrs(s, "aws_elasticache_subnet_group", "main")["subnet_ids"] = list(private)

    # The team's service names.
    s = replace_everywhere(s, r"(coldchain-production-cluster/coldchain-production-(?:backend|frontend))(?![-\w])", r"\1-service")
    for svc in ("backend", "frontend"):
        attrs(s, "aws_ecs_service", svc)["name"] = f"coldchain-production-{svc}-service"

    # pg_stat_statements, which the team's slow-query review reads.
    attrs(s, "aws_db_parameter_group", "main")["parameter"] = [
        {"apply_method": "immediate", "name": "log_min_duration_statement", "value": "1000"},
        {"apply_method": "pending-reboot", "name": "shared_preload_libraries", "value": "pg_stat_statements"},
    ]

    # HTTPS: a certificate validated through Route 53, the listener on 443, HTTP redirected,
    # the domain's alias record.
    lb = attrs(s, "aws_lb", "main")
    http = attrs(s, "aws_lb_listener", "http")
    https_arn = http["arn"][: http["arn"].rindex("/")] + "/7e1d2c3b4a596877"
    frontend_tg = http["default_action"][0]["target_group_arn"]
    add(s, "aws_route53_zone", "main", {
        "id": ZONE_ID, "zone_id": ZONE_ID, "name": DOMAIN.split(".", 1)[1], "private_zone": False,
        "arn": f"arn:aws:route53:::hostedzone/{ZONE_ID}", "caller_reference": "", "comment": "",
        "linked_service_description": "", "linked_service_principal": "", "name_servers": [
            "ns-1234.awsdns-26.org", "ns-567.awsdns-05.net", "ns-89.awsdns-11.com", "ns-1890.awsdns-44.co.uk"],
        "primary_name_server": "ns-1234.awsdns-26.org", "resource_record_set_count": 5, "tags": {}, "vpc_id": None,
    }, after=("aws_lb", "main"), mode="data")
    add(s, "aws_acm_certificate", "main", {
        "id": CERT_ARN, "arn": CERT_ARN, "domain_name": DOMAIN, "subject_alternative_names": [DOMAIN],
        "validation_method": "DNS", "key_algorithm": "RSA_2048", "status": "ISSUED", "type": "AMAZON_ISSUED",
        "certificate_authority_arn": "", "certificate_body": None, "certificate_chain": None, "private_key": None,
        "early_renewal_duration": "", "not_before": "2026-01-28T00:00:00Z", "not_after": "2027-02-26T23:59:59Z",
        "pending_renewal": False, "renewal_eligibility": "ELIGIBLE", "renewal_summary": [],
        "domain_validation_options": [{"domain_name": DOMAIN, "resource_record_name": VALIDATION_NAME + ".",
                                       "resource_record_type": "CNAME", "resource_record_value": VALIDATION_VALUE}],
        "options": [{"certificate_transparency_logging_preference": "ENABLED"}], "validation_emails": [],
        "validation_option": [], "tags": {"Environment": "production", "Project": "coldchain"},
        "tags_all": {"Environment": "production", "Project": "coldchain"},
    }, after=("aws_route53_zone", "main"), sensitive=("private_key",))
    add(s, "aws_route53_record", "cert_validation", {
        "id": f"{ZONE_ID}_{VALIDATION_NAME}_CNAME", "zone_id": ZONE_ID, "name": VALIDATION_NAME, "type": "CNAME",
        "fqdn": VALIDATION_NAME, "ttl": 60, "records": [VALIDATION_VALUE], "allow_overwrite": True, "alias": [],
        "set_identifier": "", "health_check_id": "", "multivalue_answer_routing_policy": None,
        "cidr_routing_policy": [], "failover_routing_policy": [], "geolocation_routing_policy": [],
        "geoproximity_routing_policy": [], "latency_routing_policy": [], "weighted_routing_policy": [],
    }, after=("aws_acm_certificate", "main"))
    add(s, "aws_acm_certificate_validation", "main", {
        "id": "2026-01-28 09:14:07.312 +0000 UTC", "certificate_arn": CERT_ARN,
        "validation_record_fqdns": [VALIDATION_NAME], "timeouts": None,
    }, after=("aws_route53_record", "cert_validation"))
    add(s, "aws_lb_listener", "https", {
        "id": https_arn, "arn": https_arn, "load_balancer_arn": lb["arn"], "port": 443, "protocol": "HTTPS",
        "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "certificate_arn": CERT_ARN, "alpn_policy": None,
        "mutual_authentication": [], "default_action": [{
            "type": "forward", "target_group_arn": frontend_tg, "order": 1, "forward": [], "redirect": [],
            "fixed_response": [], "authenticate_cognito": [], "authenticate_oidc": []}],
        "tags": {}, "tags_all": {},
    }, after=("aws_lb_listener", "http"))
    http["default_action"] = [{
        "type": "redirect", "target_group_arn": "", "order": 1, "forward": [], "fixed_response": [],
        "authenticate_cognito": [], "authenticate_oidc": [],
        "redirect": [{"host": "#{host}", "path": "/#{path}", "port": "443", "protocol": "HTTPS",
                      "query": "#{query}", "status_code": "HTTP_301"}]}]
    attrs(s, "aws_lb_listener_rule", "backend_api")["listener_arn"] = https_arn
    rule = attrs(s, "aws_lb_listener_rule", "backend_api")
    rule["id"] = rule["arn"] = https_arn.replace(":listener/", ":listener-rule/") + "/7369949b47ef2c6b"
    add(s, "aws_route53_record", "app", {
        "id": f"{ZONE_ID}_{DOMAIN}_A", "zone_id": ZONE_ID, "name": DOMAIN, "type": "A", "fqdn": DOMAIN,
        "ttl": 0, "records": None, "allow_overwrite": None, "set_identifier": "", "health_check_id": "",
        "alias": [{"name": lb["dns_name"], "zone_id": lb["zone_id"], "evaluate_target_health": True}],
        "multivalue_answer_routing_policy": None, "cidr_routing_policy": [], "failover_routing_policy": [],
        "geolocation_routing_policy": [], "geoproximity_routing_policy": [], "latency_routing_policy": [],
        "weighted_routing_policy": [],
    }, after=("aws_lb_listener_rule", "backend_api"))
    return s


def in_zones_a_and_c(state):
    s = replace_everywhere(state, REGION + "b", REGION + "c")
    s = replace_everywhere(s, "apne2-az2", "apne2-az3")
    s["serial"] += 1
    return s


def with_extras(state):
    s = copy.deepcopy(state)
    s["serial"] += 31
    topic = attrs(s, "aws_sns_topic", "alarms")["arn"]
    lb = attrs(s, "aws_lb", "main")
    vpc = attrs(s, "aws_vpc", "main")["id"]
    private = [i["attributes"]["id"] for i in block(s, "aws_subnet", "private")["instances"]]
    add(s, "aws_cloudwatch_metric_alarm", "alb_latency_high", {
        "id": "coldchain-production-alb-latency-high", "alarm_name": "coldchain-production-alb-latency-high",
        "arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:coldchain-production-alb-latency-high",
        "alarm_description": "p99 latency over 2 s", "metric_name": "TargetResponseTime", "namespace": "AWS/ApplicationELB",
        "statistic": "", "extended_statistic": "p99", "threshold": 2, "comparison_operator": "GreaterThanThreshold",
        "evaluation_periods": 3, "datapoints_to_alarm": None, "period": 60,
        "dimensions": {"LoadBalancer": lb["arn_suffix"]}, "alarm_actions": [topic], "ok_actions": [],
        "insufficient_data_actions": [], "treat_missing_data": "notBreaching", "actions_enabled": True,
        "metric_query": [], "unit": "", "tags": {}, "tags_all": {},
    })
    add(s, "aws_cloudwatch_log_metric_filter", "backend_errors", {
        "id": "coldchain-production-backend-errors", "name": "coldchain-production-backend-errors",
        "log_group_name": "/ecs/coldchain-production/backend", "pattern": "\"ERROR\"",
        "metric_transformation": [{"name": "BackendErrors", "namespace": "ColdChain", "value": "1",
                                   "default_value": "", "dimensions": {}, "unit": "None"}],
    })
    add(s, "aws_sns_topic_subscription", "oncall_sms", {
        "id": topic + ":5b1c9e0a-7d3f-4e2b-8a6c-1f0e9d8c7b6a", "arn": topic + ":5b1c9e0a-7d3f-4e2b-8a6c-1f0e9d8c7b6a",
        "topic_arn": topic, "protocol": "sms", "endpoint": "+821012345678", "confirmation_was_authenticated": True,
        "confirmation_timeout_in_minutes": 1, "delivery_policy": "", "endpoint_auto_confirms": False,
        "filter_policy": "", "filter_policy_scope": "", "owner_id": ACCOUNT, "pending_confirmation": False,
        "raw_message_delivery": False, "redrive_policy": "", "replay_policy": "", "subscription_role_arn": "",
    })
    add(s, "aws_iam_policy", "deployer", {
        "id": f"arn:aws:iam::{ACCOUNT}:policy/coldchain-production-deployer",
        "arn": f"arn:aws:iam::{ACCOUNT}:policy/coldchain-production-deployer", "name": "coldchain-production-deployer",
        "name_prefix": "", "path": "/", "description": "Lets CI push images and roll the services",
        "policy": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
            "ecr:PutImage", "ecs:UpdateService"], "Resource": "*"}]}), "policy_id": "ANPAEXAMPLE0DEPLOYER1",
        "attachment_count": 0, "tags": {}, "tags_all": {},
    })
    add(s, "aws_vpc_endpoint", "ecr_api", {
        "id": "vpce-0e4f8a1b2c3d4e5f6", "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-endpoint/vpce-0e4f8a1b2c3d4e5f6",
        "vpc_id": vpc, "service_name": f"com.amazonaws.{REGION}.ecr.api", "vpc_endpoint_type": "Interface",
        "private_dns_enabled": True, "subnet_ids": private, "security_group_ids": [attrs(s, "aws_security_group", "ecs_backend")["id"]],
        "route_table_ids": [], "policy": "", "auto_accept": None, "ip_address_type": "ipv4", "owner_id": ACCOUNT,
        "state": "available", "requester_managed": False, "tags": {}, "tags_all": {},
    })
    add(s, "random_password", "grafana", {
        "id": "none", "length": 32, "special": False, "upper": True, "lower": True, "numeric": True,
        "result": "qF3xT9mZ2bW7nL4kR8vC1yH6pJ5sD0gA", "bcrypt_hash": "$2a$10$example", "keepers": None,
        "min_lower": 0, "min_numeric": 0, "min_special": 0, "min_upper": 0, "number": True, "override_special": None,
    }, provider='provider["registry.terraform.io/hashicorp/random"]', sensitive=("result", "bcrypt_hash"))
    return s


def main():
    seed = load("seed.tfstate")
    two = two_tier(seed)
    save(two, "two-tier.tfstate")
    save(in_zones_a_and_c(two), "two-tier-ac.tfstate")
    save(with_extras(two), "extras.tfstate")


if __name__ == "__main__":
    main()
