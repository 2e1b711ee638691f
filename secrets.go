package main

import (
	"fmt"
	"regexp"
	"strings"
)

// This file reads the sources of the backend's extra secrets (backendSecrets): where ECS reads
// each one from (the container definition's valueFrom) and what the execution role must be
// allowed to read for it (the IAM resource), which are not always the same string.

// secretSource is one backendSecrets value, parsed.
type secretSource struct {
	// valueFrom is what the container definition names; it may select a JSON key or a
	// version of a Secrets Manager secret.
	valueFrom string
	// resources are the ARNs the execution role must be allowed to read.
	resources []string
	// secretsManager is true for a Secrets Manager secret, false for an SSM parameter.
	secretsManager bool
}

var (
	// A Secrets Manager ARN: the secret's name, and optionally ":<json-key>:<version-stage>:
	// <version-id>" (the three together, any of them empty), which ECS reads as a selection.
	secretsManagerArn = regexp.MustCompile(`^(arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):[0-9]{12}:secret:([A-Za-z0-9/_+=.@-]{1,512}))((?::[^:]*){3})?$`)
	ssmParameterArn   = regexp.MustCompile(`^arn:aws[a-z-]*:ssm:([a-z0-9-]+):[0-9]{12}:parameter/[A-Za-z0-9_.\-/]+$`)
	ssmParameterName  = regexp.MustCompile(`^/[A-Za-z0-9_.\-/]+$`)
	// secretArnSuffix ends every complete Secrets Manager ARN: "-" and six random characters.
	secretArnSuffix = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)
)

// secretSourceForms says what parseSecretSource accepts, for error messages.
const secretSourceForms = "an SSM parameter name (/coldchain/production/api-key) or ARN, or a Secrets Manager secret ARN " +
	"(complete, or partial without the 6-character suffix), optionally with :json-key:version-stage:version-id, in "

// parseSecretSource reads a source in the stack's region; account names the account an SSM
// parameter given by name lives in (its AccountID may be empty when only the form is checked).
func parseSecretSource(source string, account awsAccount) (secretSource, error) {
	if m := secretsManagerArn.FindStringSubmatch(source); m != nil {
		if m[2] != account.Region {
			return secretSource{}, fmt.Errorf("a secret in %s, not %s", m[2], account.Region)
		}
		base, name := m[1], m[3]
		resources := []string{base + "-??????"} // a partial ARN: the secret's ARN adds "-" and 6 characters
		if secretArnSuffix.MatchString(name) {
			// Most likely complete; a partial ARN whose name happens to end that way is
			// covered by the wildcard form, which matches no other secret's ARN.
			resources = []string{base, base + "-??????"}
		}
		return secretSource{valueFrom: source, resources: resources, secretsManager: true}, nil
	}
	if m := ssmParameterArn.FindStringSubmatch(source); m != nil {
		if m[1] != account.Region {
			return secretSource{}, fmt.Errorf("a parameter in %s, not %s", m[1], account.Region)
		}
		return secretSource{valueFrom: source, resources: []string{source}}, nil
	}
	if len(source) > 2048 {
		return secretSource{}, fmt.Errorf("longer than 2048 characters")
	}
	if ssmParameterName.MatchString(source) && !strings.Contains(source, "//") {
		arn := account.arn("ssm", account.Region, "parameter"+source)
		return secretSource{valueFrom: arn, resources: []string{arn}}, nil
	}
	if strings.Contains(source, ":secretsmanager:") && strings.Count(source, ":") > 7 && strings.Count(source, ":") != 10 {
		return secretSource{}, fmt.Errorf("a selection of a JSON key names all three of :json-key:version-stage:version-id (leave any empty)")
	}
	return secretSource{}, fmt.Errorf("not a secret source")
}

// secretArn is the ARN of a Secrets Manager source without its selection, and whether it is
// partial (without the random suffix), as far as its form tells.
func (s secretSource) secretArn() (string, bool) {
	m := secretsManagerArn.FindStringSubmatch(s.valueFrom)
	if m == nil {
		return "", false
	}
	return m[1], !secretArnSuffix.MatchString(m[3])
}

// checkServiceSecrets checks a service's Secrets and ManagedSecrets: variable names the program
// does not set itself, each named once, and sources ECS can read in the region.
func (p *problems) checkServiceSecrets(svc ServiceConfig, region string) {
	secretsKey, managedKey := svc.Name+"Secrets", svc.Name+"ManagedSecrets"
	variableProblem := func(name string) string {
		switch {
		case !envNamePattern.MatchString(name):
			return "environment variable names of uppercase letters, digits and _"
		case isReservedEnv(name):
			return "a name the program does not set itself (" + strings.Join(reservedEnvNames(), ", ") + ")"
		}
		return ""
	}
	for _, name := range sortedKeys(svc.Secrets) {
		source := svc.Secrets[name]
		if why := variableProblem(name); why != "" {
			p.add(secretsKey, name, why)
		} else if _, err := parseSecretSource(source, awsAccount{Region: region}); err != nil {
			p.add(secretsKey, name+"="+source, secretSourceForms+region+" ("+err.Error()+")")
		}
	}
	if len(svc.ManagedSecrets) > 20 {
		p.add(managedKey, strings.Join(svc.ManagedSecrets, ","), "at most 20 variables")
	}
	declared := map[string]bool{}
	for _, name := range svc.ManagedSecrets {
		_, mapped := svc.Secrets[name]
		if why := variableProblem(name); why != "" {
			p.add(managedKey, name, why)
		} else if mapped || declared[name] {
			p.add(managedKey, name, "a variable named once, here or in "+secretsKey)
		}
		declared[name] = true
	}
}

// envNamePattern is what a container's environment variable may be named.
var envNamePattern = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
