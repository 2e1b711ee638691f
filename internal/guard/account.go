package guard

import (
	"coldchain/internal/plan"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// AccountProject is the account stack's project (account/): the Account rules hold its plans,
// the others the application's.
const AccountProject = "coldchain-account"

// The account stack's resource types the rules read.
const (
	OIDCProviderType = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
	githubIssuer     = "token.actions.githubusercontent.com"
)

// Account are the guarantees of the account stack. A deployment role needs service-wide rights
// the application's least-privilege rule (SEC-04) refuses its own roles; these rules hold what
// keeps those rights from reaching further.
var Account = []Rule{
	{"ACCT-01", "IAM.?, OIDC trust",
		"Every role GitHub's workflows assume trusts exactly one subject of one repository (StringEquals on the token's sub and aud, no pattern), through the account's GitHub OIDC provider, and nothing else.",
		checkGitHubTrust},
	{"ACCT-02", "privilege escalation",
		"A deployment role may not manage the account stack's roles or its OIDC provider, create users, access keys or managed policies, create a role or write a role's policy without the stack's permissions boundary, rewrite a role's trust, or pass a role to other than the services the stacks' roles serve.",
		checkDeploymentRoles},
	{"ACCT-03", "data exposure",
		"A preview role, which runs a pull request's code, is denied the reads of what the stacks hold: log events, objects, images, secret values, parameters, sessions, decryption.",
		checkPreviewRoles},
	{"ACCT-04", "protection",
		"The OIDC provider, the roles and the state backend's bucket and key are protected, so that a destroy cannot take the workflows' access or the stacks' state.",
		checkAccountProtection},
}

// previewMustDeny are the reads a preview role's deny must include, at least.
var previewMustDeny = []string{"logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "s3:GetObject*",
	"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "secretsmanager:GetSecretValue", "ssm:GetParameter*",
	"ssm:StartSession", "ecs:ExecuteCommand", "kms:Decrypt"}

// githubRolePolicies are the inline policies of the roles that trust the GitHub OIDC provider,
// by the role's logical name.
func githubRolePolicies(p *plan.Plan) map[string][]PolicyDocument {
	roles := githubRoles(p)
	byPhysical := map[string]string{}
	for _, r := range p.All(RoleType) {
		if _, ok := roles[r.Name]; ok {
			byPhysical[r.In("name")] = r.Name
		}
	}
	out := map[string][]PolicyDocument{}
	for _, rp := range p.All(RolePolicy) {
		var d PolicyDocument
		if role, ok := byPhysical[rp.In("role")]; ok && json.Unmarshal([]byte(rp.In("policy")), &d) == nil {
			out[role] = append(out[role], d)
		}
	}
	return out
}

// githubRoles are the roles that trust the GitHub OIDC provider, with their trust documents.
func githubRoles(p *plan.Plan) map[string]PolicyDocument {
	out := map[string]PolicyDocument{}
	for _, r := range p.All(RoleType) {
		var d PolicyDocument
		if json.Unmarshal([]byte(r.In("assumeRolePolicy")), &d) == nil && strings.Contains(r.In("assumeRolePolicy"), "oidc-provider/"+githubIssuer) {
			out[r.Name] = d
		}
	}
	return out
}

func checkGitHubTrust(p *plan.Plan) []string {
	var v []string
	providers := p.All(OIDCProviderType)
	for _, r := range p.All(RoleType) {
		if strings.Contains(r.In("assumeRolePolicy"), githubIssuer) && len(providers) == 0 {
			v = append(v, r.Name+": trusts GitHub, but the stack declares no OIDC provider")
		}
	}
	for name, d := range githubRoles(p) {
		if len(d.Statement) != 1 {
			v = append(v, fmt.Sprintf("%s: %d trust statements, not one", name, len(d.Statement)))
			continue
		}
		s := d.Statement[0]
		principal, _ := s.Principal.(map[string]any)
		federated, _ := principal["Federated"].(string)
		ours := slices.ContainsFunc(providers, func(r *plan.PlanResource) bool { return r.Outputs["arn"] == federated })
		actions := Strs(s.Action)
		cond := s.Condition["StringEquals"]
		sub, _ := cond[githubIssuer+":sub"].(string)
		switch {
		case s.Effect != "Allow" || !slices.Equal(actions, []string{"sts:AssumeRoleWithWebIdentity"}):
			v = append(v, name+": the trust allows more than sts:AssumeRoleWithWebIdentity")
		case !ours || len(principal) != 1:
			v = append(v, name+": trusts a principal other than the stack's GitHub OIDC provider")
		case len(s.Condition) != 1 || len(cond) != 2:
			v = append(v, name+": its trust conditions are not exactly StringEquals on the token's sub and aud")
		case cond[githubIssuer+":aud"] != "sts.amazonaws.com":
			v = append(v, name+": its trust does not require the audience sts.amazonaws.com")
		case !strings.HasPrefix(sub, "repo:") || strings.ContainsAny(sub, "*?"):
			v = append(v, fmt.Sprintf("%s: trusts the subject %q, not one exact subject of a repository", name, sub))
		}
	}
	return v
}

func checkDeploymentRoles(p *plan.Plan) []string {
	var v []string
	forbidden := []string{"iam:*", "iam:CreateUser", "iam:CreateAccessKey", "iam:CreatePolicy", "iam:CreatePolicyVersion",
		"iam:AttachRolePolicy", "iam:PutUserPolicy", "*"}
	for role, docs := range githubRolePolicies(p) {
		if !strings.HasSuffix(role, "-deploy") {
			continue
		}
		name := role
		guarded, passGuarded, trustKept := false, true, false
		for _, s := range statementsOf(docs) {
			actions := Strs(s.Action)
			if s.Effect == "Deny" && slices.Contains(actions, "iam:UpdateAssumeRolePolicy") && slices.Contains(Strs(s.Resource), "*") {
				trustKept = true
			}
			if s.Effect == "Deny" && slices.Contains(actions, "iam:*") {
				res := Strs(s.Resource)
				guarded = slices.ContainsFunc(res, func(r string) bool { return strings.HasSuffix(r, ":role/*-github-*") }) &&
					slices.ContainsFunc(res, func(r string) bool { return strings.HasSuffix(r, ":oidc-provider/*") })
				continue
			}
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range actions {
				if slices.Contains(forbidden, a) {
					v = append(v, fmt.Sprintf("%s: %s allows %s", name, s.Sid, a))
				}
				if a == "iam:PassRole" && len(Strs(s.Condition["StringEquals"]["iam:PassedToService"])) == 0 {
					passGuarded = false
				}
				if (a == "iam:CreateRole" || a == "iam:PutRolePolicy") && len(Strs(s.Condition["StringEquals"]["iam:PermissionsBoundary"])) == 0 {
					v = append(v, fmt.Sprintf("%s: %s allows %s without a permissions boundary", name, s.Sid, a))
				}
			}
		}
		if !guarded {
			v = append(v, name+": no deny of the account stack's own roles (*-github-*) and OIDC provider")
		}
		if !passGuarded {
			v = append(v, name+": passes roles without an iam:PassedToService condition")
		}
		if !trustKept {
			v = append(v, name+": does not deny iam:UpdateAssumeRolePolicy: it could make another role trust it")
		}
	}
	return v
}

func checkPreviewRoles(p *plan.Plan) []string {
	var v []string
	denied := map[string][]string{}
	for role, docs := range githubRolePolicies(p) {
		for _, s := range statementsOf(docs) {
			if s.Effect == "Deny" {
				denied[role] = append(denied[role], Strs(s.Action)...)
			}
		}
	}
	for role := range githubRoles(p) {
		if !strings.HasSuffix(role, "-preview") {
			continue
		}
		for _, a := range previewMustDeny {
			if !slices.Contains(denied[role], a) {
				v = append(v, fmt.Sprintf("%s: its policy does not deny %s", role, a))
			}
		}
	}
	return v
}

func checkAccountProtection(p *plan.Plan) []string {
	var v []string
	for _, r := range p.All(OIDCProviderType) {
		if !r.Protect {
			v = append(v, r.Name+": the OIDC provider is not protected")
		}
	}
	for role := range githubRoles(p) {
		if r := p.Find(RoleType, role); r != nil && !r.Protect {
			v = append(v, role+": a role of the workflows is not protected")
		}
	}
	for _, typ := range []string{KmsKeyType, BucketType} {
		if r := p.Find(typ, "state"); r != nil && !r.Protect {
			v = append(v, fmt.Sprintf("%s state: the state backend is not protected", typ))
		}
	}
	return v
}

func statementsOf(docs []PolicyDocument) []Statement {
	var out []Statement
	for _, d := range docs {
		out = append(out, d.Statement...)
	}
	return out
}
