// Package workflows reads the repository's GitHub Actions workflows for what AWS must trust: the
// subject of the OIDC token each job that assumes a role presents. The application's tests check
// the CI documentation against it, the account program's tests its roles' trust policies.
package workflows

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Workflow is the part of a GitHub Actions workflow that decides which OIDC subject its jobs
// present to AWS.
type Workflow struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		Environment string            `yaml:"environment"`
		Uses        string            `yaml:"uses"`
		With        map[string]string `yaml:"with"`
		Steps       []struct {
			Uses string `yaml:"uses"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// Read reads the workflows of a repository, by their path as a caller names them
// ("./.github/workflows/up.yml").
func Read(repo string) (map[string]Workflow, error) {
	files, err := filepath.Glob(filepath.Join(repo, ".github/workflows/*.yml"))
	if err != nil {
		return nil, err
	}
	flows := map[string]Workflow{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var w Workflow
		if err := yaml.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		rel, _ := filepath.Rel(repo, f)
		flows["./"+filepath.ToSlash(rel)] = w
	}
	return flows, nil
}

// Subjects are the subjects, after "repo:<owner>/<repo>:", of the tokens the jobs that assume
// an AWS role present: "environment:<name>" for a job in an environment (a called workflow's
// "${{ inputs.stack }}" is each caller's stack, a workflow run by hand each stack it offers),
// "pull_request" for a pull request's job. A job that assumes a role elsewhere presents a
// branch's subject, which no role should trust: it is an error.
func Subjects(flows map[string]Workflow) ([]string, error) {
	calledWith := map[string][]string{}
	for _, w := range flows {
		for _, job := range w.Jobs {
			if job.Uses != "" {
				calledWith[job.Uses] = append(calledWith[job.Uses], job.With["stack"])
			}
		}
	}
	subjects := map[string]bool{}
	for _, path := range slices.Sorted(maps.Keys(flows)) {
		w := flows[path]
		for _, name := range slices.Sorted(maps.Keys(w.Jobs)) {
			job := w.Jobs[name]
			assumesRole := false
			for _, step := range job.Steps {
				assumesRole = assumesRole || strings.HasPrefix(step.Uses, "aws-actions/configure-aws-credentials@")
			}
			if !assumesRole {
				continue
			}
			_, onPullRequest := w.On["pull_request"]
			switch {
			case job.Environment == "${{ inputs.stack }}" && DispatchStacks(w) == nil:
				if len(calledWith[path]) == 0 {
					return nil, fmt.Errorf("%s is never called", path)
				}
				for _, stack := range calledWith[path] {
					subjects["environment:"+stack] = true
				}
			case job.Environment == "${{ inputs.stack }}":
				for _, stack := range DispatchStacks(w) {
					subjects["environment:"+stack] = true
				}
			case job.Environment != "":
				subjects["environment:"+job.Environment] = true
			case onPullRequest:
				subjects["pull_request"] = true
			default:
				return nil, fmt.Errorf("%s job %s assumes a role outside a pull request and an environment: its subject is a branch's", path, name)
			}
		}
	}
	return slices.Sorted(maps.Keys(subjects)), nil
}

// DispatchStacks are the stacks a workflow run by hand offers (its input "stack"), nil for
// another workflow.
func DispatchStacks(w Workflow) []string {
	dispatch, ok := w.On["workflow_dispatch"].(map[string]any)
	if !ok {
		return nil
	}
	inputs, _ := dispatch["inputs"].(map[string]any)
	stack, _ := inputs["stack"].(map[string]any)
	var out []string
	options, _ := stack["options"].([]any)
	for _, o := range options {
		out = append(out, o.(string))
	}
	return out
}
