package main

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// statement is one statement of an IAM, key, bucket or topic policy. Resources may be outputs
// of other resources (ARNs); everything else is known when the program runs.
type statement struct {
	Sid        string
	Deny       bool
	Principals map[string]any // "Service", "AWS", or "*" under key "*"
	Actions    []string
	Resources  []pulumi.StringInput
	Conditions map[string]map[string]any
}

// policyJSON renders statements as a policy document once every resource ARN is known. The
// documents are built from Go values so that the offline plan and the tests see them whole.
func policyJSON(statements ...statement) pulumi.StringOutput {
	var inputs []any
	for _, s := range statements {
		for _, r := range s.Resources {
			inputs = append(inputs, r)
		}
	}
	return pulumi.All(inputs...).ApplyT(func(resolved []any) (string, error) {
		doc := policyDocument{Version: "2012-10-17"}
		i := 0
		for _, s := range statements {
			out := policyStatement{Sid: s.Sid, Effect: "Allow", Action: s.Actions, Condition: s.Conditions}
			if s.Deny {
				out.Effect = "Deny"
			}
			if p, ok := s.Principals["*"]; ok {
				out.Principal = p
			} else if len(s.Principals) > 0 {
				out.Principal = s.Principals
			}
			for range s.Resources {
				out.Resource = append(out.Resource, resolved[i].(string))
				i++
			}
			doc.Statement = append(doc.Statement, out)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return "", fmt.Errorf("rendering policy document: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
}

type policyDocument struct {
	Version   string
	Statement []policyStatement
}

type policyStatement struct {
	Sid       string                    `json:",omitempty"`
	Effect    string                    `json:"Effect"`
	Principal any                       `json:",omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:",omitempty"`
	Condition map[string]map[string]any `json:",omitempty"`
}

// servicePrincipal is the principal of an AWS service, e.g. "ecs-tasks.amazonaws.com".
func servicePrincipal(service string) map[string]any {
	return map[string]any{"Service": service}
}

// assumeRolePolicy lets one AWS service assume a role, but only on behalf of this account, so
// the role cannot be used as a confused deputy by another account's resources.
func assumeRolePolicy(account awsAccount, service string, sourceArn string) pulumi.StringOutput {
	conditions := map[string]map[string]any{
		"StringEquals": {"aws:SourceAccount": account.AccountID},
	}
	if sourceArn != "" {
		conditions["ArnLike"] = map[string]any{"aws:SourceArn": sourceArn}
	}
	return policyJSON(statement{
		Sid:        "AssumedBy" + sidName(service),
		Principals: servicePrincipal(service),
		Actions:    []string{"sts:AssumeRole"},
		Conditions: conditions,
	})
}

// sidName turns "ecs-tasks.amazonaws.com" into "EcsTasks", for readable statement ids.
func sidName(service string) string {
	out := []byte{}
	upper := true
	for _, c := range []byte(service) {
		switch {
		case c == '.':
			return string(out)
		case c == '-':
			upper = true
		case upper && c >= 'a' && c <= 'z':
			out = append(out, c-'a'+'A')
			upper = false
		default:
			out = append(out, c)
			upper = false
		}
	}
	return string(out)
}

// awsAccount is what the program learns about the account it deploys into.
type awsAccount struct {
	AccountID string
	Partition string
	Region    string
	// DNSSuffix is the partition's DNS suffix, "amazonaws.com" in the commercial partition.
	DNSSuffix string
	// RoleBoundary is the ARN of the managed policy that bounds every role the stack creates
	// (rolePermissionsBoundary), "" for none.
	RoleBoundary string
}

// arn builds an ARN of this account and region; pass "" as region for global services (IAM).
func (e awsAccount) arn(service, region, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", e.Partition, service, region, e.AccountID, resource)
}

// keyAdministration lets the account administer a KMS key through IAM, without using it. Key
// policies always name the key itself as "*".
func keyAdministration(account awsAccount) statement {
	return statement{
		Sid:        "AdministerThroughIAM",
		Principals: map[string]any{"AWS": account.arn("iam", "", "root")},
		Actions: []string{
			"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
			"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
			"kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
		},
		Resources: []pulumi.StringInput{pulumi.String("*")},
	}
}

// keyUseThrough lets principals of the account use a KMS key, but only through the given
// services of this region (kms:ViaService).
func keyUseThrough(account awsAccount, sid string, actions []string, services ...string) statement {
	var via []string
	for _, service := range services {
		via = append(via, fmt.Sprintf("%s.%s.%s", service, account.Region, account.DNSSuffix))
	}
	return statement{
		Sid:        sid,
		Principals: map[string]any{"AWS": account.arn("iam", "", "root")},
		Actions:    actions,
		Resources:  []pulumi.StringInput{pulumi.String("*")},
		Conditions: map[string]map[string]any{
			"StringEquals": {"kms:CallerAccount": account.AccountID, "kms:ViaService": via},
		},
	}
}

// serviceRole is an IAM role an AWS service assumes for this account, and its inline policy.
type serviceRole struct {
	role *iam.Role
	// policy is nil for a role without statements; what uses the role waits for it, since a
	// role is usable before its policy exists and the first calls would be denied.
	policy *iam.RolePolicy
}

// newServiceRole creates a role that service may assume only for this account's resources
// matching sourceArn (no confused deputy), and its inline policy of statements, both under the
// logical name.
func newServiceRole(ctx *pulumi.Context, account awsAccount, name, description, service, sourceArn string,
	statements []statement, opts ...pulumi.ResourceOption) (*serviceRole, error) {
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Description:         pulumi.String(description),
		AssumeRolePolicy:    assumeRolePolicy(account, service, sourceArn),
		PermissionsBoundary: optionalString(account.RoleBoundary),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating role %s: %w", name, err)
	}
	r := &serviceRole{role: role}
	if len(statements) == 0 {
		return r, nil
	}
	r.policy, err = iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policyJSON(statements...),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the policy of role %s: %w", name, err)
	}
	return r, nil
}

// after are the resources what uses the role must wait for: its policy, if it has one.
func (r *serviceRole) after() []pulumi.Resource {
	if r.policy == nil {
		return nil
	}
	return []pulumi.Resource{r.policy}
}
