package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Config is the typed configuration of one account stack: the account, and the application
// stacks that deploy into it.
type Config struct {
	// Region (aws:region) is the account stack's home region: where the state backend and AWS
	// Config's bucket live, and where AWS Config records the global resources (IAM).
	Region string
	// GitHubRepository (githubRepository, required) is "<owner>/<repo>": the repository whose
	// workflows the roles trust.
	GitHubRepository string
	// AlarmEmail (alarmEmail, required) receives the budgets' alerts.
	AlarmEmail string
	// Stacks (stacks, required) are the application stacks that deploy into this account.
	Stacks []AppStack
	// SecurityHub (securityHub, default true) turns on Security Hub with AWS's Foundational
	// Security Best Practices standard and AWS Config recording in every region of the stacks.
	SecurityHub bool
	// StateBackend (stateBackend, default false) creates a self-managed Pulumi state backend:
	// an S3 bucket and a KMS key for the stacks' secrets, for teams without Pulumi Cloud.
	StateBackend bool
	// Protect (protect, default true) protects what must not be deleted: the OIDC provider, the
	// roles, AWS Config's bucket.
	Protect bool
	// ActivateCostTags (activateCostTags, default false) activates the stacks' Project and
	// Environment tags for cost allocation, which the budgets filter on. AWS activates only tags
	// its billing has seen, a day after the first application deploy: set it then.
	ActivateCostTags bool
}

// AppStack is one application stack of the account, as its own stack file configures it
// (TestTheAccountStacksDescribeTheApplicationStacks in the application's tests holds them
// together).
type AppStack struct {
	// Name is the stack's name ("production"): its GitHub environment is the same.
	Name string `json:"name"`
	// Prefix is the stack's name prefix, "<projectName>-<environment>"; Environment its
	// Environment tag, which its budget filters on.
	Prefix      string `json:"prefix"`
	Environment string `json:"environment"`
	// Region and DrRegion are the stack's aws:region and drRegion ("" without one).
	Region   string `json:"region"`
	DrRegion string `json:"drRegion"`
	// Waf is true when the stack puts AWS WAF in front of its load balancer (its key waf).
	Waf bool `json:"waf"`
	// PreviewEnvironment is the GitHub environment the stack's pull-request preview runs in;
	// "" for a preview that runs in none (its subject is then the pull request's).
	PreviewEnvironment string `json:"previewEnvironment"`
	// MonthlyBudgetUSD is the stack's monthly budget: the "cost" command's estimate of it plus
	// a margin.
	MonthlyBudgetUSD float64 `json:"monthlyBudgetUsd"`
	// Repositories, Buckets and LogGroups are the beginnings of the stack's names that its
	// prefix does not start: an adopted estate's (coldchain-backend, coldchain-prod-uploads).
	// Its deployment role may manage them, and the registry replicates the repositories.
	Repositories []string `json:"repositories,omitempty"`
	Buckets      []string `json:"buckets,omitempty"`
	LogGroups    []string `json:"logGroups,omitempty"`
}

// Problem is one bad config value: the key, the value, and what is allowed.
type Problem struct{ Key, Value, Allowed string }

// ConfigError lists every problem of a stack's config.
type ConfigError struct{ Problems []Problem }

// InputError marks the error as the config's, for the plan command.
func (e *ConfigError) InputError() {}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s = %q: %s", p.Key, p.Value, p.Allowed)
	}
	return b.String()
}

// keys are the keys the program reads, with the project's namespace or aws:.
var keys = []string{"aws:region", "githubRepository", "alarmEmail", "stacks", "securityHub", "stateBackend", "protect", "activateCostTags"}

var (
	repositoryPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$`)
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	stackNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
	// A prefix leaves room for "-github-preview" in IAM's 64-character role names.
	prefixPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,48}$`)
	emailPattern  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9/][A-Za-z0-9._/#-]{2,}$`)
)

// loadConfig reads and validates a stack's config: every problem at once, before any resource
// is registered.
func loadConfig(project string, raw map[string]string) (*Config, error) {
	var problems []Problem
	add := func(key, value, allowed string) { problems = append(problems, Problem{key, value, allowed}) }
	full := func(key string) string {
		if strings.Contains(key, ":") {
			return key
		}
		return project + ":" + key
	}
	str := func(key, def string) string {
		if v, ok := raw[full(key)]; ok {
			return v
		}
		return def
	}
	boolean := func(key string, def bool) bool {
		v, ok := raw[full(key)]
		if !ok {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			add(key, v, "true or false")
			return def
		}
		return b
	}
	for key := range raw {
		short := strings.TrimPrefix(key, project+":")
		if (strings.HasPrefix(key, project+":") || strings.HasPrefix(key, "aws:")) && !slices.Contains(keys, short) && !slices.Contains(keys, key) {
			add(short, raw[key], "a key the account program reads: "+strings.Join(keys, ", "))
		}
	}

	c := &Config{
		Region:           str("aws:region", ""),
		GitHubRepository: str("githubRepository", ""),
		AlarmEmail:       str("alarmEmail", ""),
		SecurityHub:      boolean("securityHub", true),
		StateBackend:     boolean("stateBackend", false),
		Protect:          boolean("protect", true),
		ActivateCostTags: boolean("activateCostTags", false),
	}
	if !regionPattern.MatchString(c.Region) {
		add("aws:region", c.Region, "a region name such as ap-northeast-2: the account stack's home region")
	}
	if !repositoryPattern.MatchString(c.GitHubRepository) {
		add("githubRepository", c.GitHubRepository, "the GitHub repository as <owner>/<repo>, whose workflows the roles trust")
	}
	if !emailPattern.MatchString(c.AlarmEmail) {
		add("alarmEmail", c.AlarmEmail, "an e-mail address for the budgets' alerts")
	}
	stacks := str("stacks", "")
	if err := json.Unmarshal([]byte(stacks), &c.Stacks); err != nil || len(c.Stacks) == 0 {
		add("stacks", stacks, `a JSON list of the application stacks in the account: [{"name": "production", "prefix": "coldchain-production", ...}]`)
	}
	seen := map[string]bool{}
	for i, s := range c.Stacks {
		key := fmt.Sprintf("stacks[%d]", i)
		if !stackNamePattern.MatchString(s.Name) || seen[s.Name] {
			add(key+".name", s.Name, "a stack name, once in the list")
		}
		seen[s.Name] = true
		if !prefixPattern.MatchString(s.Prefix) {
			add(key+".prefix", s.Prefix, "the stack's name prefix, <projectName>-<environment>: 1 to 49 lowercase letters, digits and - (IAM's role names)")
		}
		if s.Environment == "" || !strings.HasSuffix(s.Prefix, "-"+s.Environment) {
			add(key+".environment", s.Environment, "the stack's environment, which ends its prefix")
		}
		if !regionPattern.MatchString(s.Region) {
			add(key+".region", s.Region, "the stack's aws:region")
		}
		if s.DrRegion != "" && (!regionPattern.MatchString(s.DrRegion) || s.DrRegion == s.Region) {
			add(key+".drRegion", s.DrRegion, "the stack's drRegion: a region other than its own, or unset")
		}
		if s.PreviewEnvironment != "" && !stackNamePattern.MatchString(s.PreviewEnvironment) {
			add(key+".previewEnvironment", s.PreviewEnvironment, "a GitHub environment name, or unset for a preview outside one")
		}
		for field, names := range map[string][]string{"repositories": s.Repositories, "buckets": s.Buckets, "logGroups": s.LogGroups} {
			for _, name := range names {
				if !namePattern.MatchString(name) {
					add(key+"."+field, name, "the beginning of a name of the stack's, at least 3 characters: letters, digits, and . _ - / #, no wildcard")
				}
			}
		}
		// AWS Budgets takes amounts from 0.01; a budget at zero would alert on the first cent.
		if s.MonthlyBudgetUSD < 1 || s.MonthlyBudgetUSD > 1000000 {
			add(key+".monthlyBudgetUsd", strconv.FormatFloat(s.MonthlyBudgetUSD, 'f', -1, 64),
				"the stack's monthly budget in USD, 1 to 1,000,000: its cost estimate plus a margin (docs/account.md)")
		}
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return c, nil
}

// Regions are the regions the stacks run in and keep their copies in, sorted, with the home
// region: AWS Config, Security Hub and Access Analyzer watch each.
func (c *Config) Regions() []string {
	regions := []string{c.Region}
	for _, s := range c.Stacks {
		regions = append(regions, s.Region)
		if s.DrRegion != "" {
			regions = append(regions, s.DrRegion)
		}
	}
	slices.Sort(regions)
	return slices.Compact(regions)
}

// subject is the OIDC subject a job of an environment presents, or a pull request's job
// without one.
func (c *Config) subject(environment string) string {
	if environment == "" {
		return "repo:" + c.GitHubRepository + ":pull_request"
	}
	return "repo:" + c.GitHubRepository + ":environment:" + environment
}
