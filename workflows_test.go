package main

import (
	"coldchain/internal/workflows"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestWorkflowsUseOnlyTheSubjectsReadmeLists derives the subject of the token each job that
// assumes an AWS role presents (repo:<owner>/<repo>:environment:<name> for a job in an
// environment, :pull_request for a pull request's job), and checks that README's trust table
// lists every one: a subject missing from the roles' trust policies means a job that never
// deploys.
func TestWorkflowsUseOnlyTheSubjectsReadmeLists(t *testing.T) {
	t.Parallel()
	flows, err := workflows.Read(".")
	require.NoError(t, err)
	got, err := workflows.Subjects(flows)
	require.NoError(t, err)
	assert.Equal(t, []string{"environment:production", "environment:production-preview", "environment:staging", "pull_request"}, got)
	section := readmeSection(t, "## CI and deployment from GitHub")
	for _, s := range got {
		assert.Containsf(t, section, "`repo:<owner>/<repo>:"+s+"`", "README's trust table does not list the subject %s", s)
	}
}

// workflowTexts are the workflows' files, by path.
func workflowTexts(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(".github/workflows/*.yml")
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		out[f] = string(data)
	}
	return out
}

// TestWorkflowsPinEveryActionAndTheCLI: a tag can be moved to other code, a commit cannot; jobs
// that can assume the deployment roles run only code pinned by commit, and the Pulumi CLI the
// SDK and the policy pack were built for.
func TestWorkflowsPinEveryActionAndTheCLI(t *testing.T) {
	t.Parallel()
	gomod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	sdk := regexp.MustCompile(`github.com/pulumi/pulumi/sdk/v3 v(\S+)`).FindStringSubmatch(string(gomod))
	require.NotNil(t, sdk)
	uses := regexp.MustCompile(`(?m)^\s*-?\s*uses: (\S+)(.*)$`)
	pinned := regexp.MustCompile(`^[\w.-]+/[\w.-]+@[0-9a-f]{40}$`)
	for path, text := range workflowTexts(t) {
		for _, m := range uses.FindAllStringSubmatch(text, -1) {
			if strings.HasPrefix(m[1], "./") {
				continue // this repository's own workflow
			}
			assert.Regexpf(t, pinned, m[1], "%s: %s is not pinned by commit", path, m[1])
			assert.Regexpf(t, `^ # v\d+\.\d+\.\d+$`, m[2], "%s: %s says which release it is", path, m[1])
		}
		actions := strings.Count(text, "uses: pulumi/actions@")
		assert.Equalf(t, actions, strings.Count(text, "pulumi-version: "+sdk[1]+" "), "%s: every Pulumi step pins the CLI at %s", path, sdk[1])
	}
}

// TestAFrozenStackIsNotDeployed: up.yml reads the stack file's frozen and skips every step
// that would touch the stack.
func TestAFrozenStackIsNotDeployed(t *testing.T) {
	t.Parallel()
	var up struct {
		Jobs map[string]struct {
			Steps []struct {
				ID   string `yaml:"id"`
				Name string `yaml:"name"`
				Uses string `yaml:"uses"`
				Run  string `yaml:"run"`
				If   string `yaml:"if"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(workflowTexts(t)[".github/workflows/up.yml"]), &up))
	steps := up.Jobs["up"].Steps
	checked := false
	for _, step := range steps {
		if step.ID == "stack" {
			assert.Contains(t, step.Run, `"coldchain:frozen:"`)
			checked = true
			continue
		}
		if !checked || strings.HasPrefix(step.Uses, "actions/checkout@") {
			continue
		}
		assert.Truef(t, step.If == "steps.stack.outputs.frozen == ''" || strings.HasPrefix(step.If, "steps.stack.outputs.frozen == '' && "),
			"step %q runs on a frozen stack (if: %s)", step.Name+step.Uses, step.If)
	}
	assert.True(t, checked)
	assert.Contains(t, configKeys(project), "frozen", "the key up.yml reads is the program's")
}

// TestTheRollbackUpdatesOnlyTheServices: the rollback's targets are the services and their
// task definitions as the program names them, in both stacks, and it commits the release to
// main before it deploys it.
func TestTheRollbackUpdatesOnlyTheServices(t *testing.T) {
	t.Parallel()
	text := workflowTexts(t)[".github/workflows/rollback.yml"]
	require.NotEmpty(t, text)
	_, after, found := strings.Cut(text, "target: |\n")
	require.True(t, found)
	var targets []string
	for _, line := range strings.Split(after, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "urn:") {
			break
		}
		targets = append(targets, line)
	}
	for _, stack := range []string{"production", "staging"} {
		urns, err := os.ReadFile("testdata/urns-" + stack + ".txt")
		require.NoError(t, err)
		var want []string
		for _, urn := range strings.Split(string(urns), "\n") {
			if strings.Contains(urn, "$aws:ecs/service:Service::") || strings.Contains(urn, "$aws:ecs/taskDefinition:TaskDefinition::") {
				want = append(want, urn)
			}
		}
		var got []string
		for _, target := range targets {
			got = append(got, strings.ReplaceAll(target, "${{ inputs.stack }}", stack))
		}
		assert.ElementsMatch(t, want, got, stack)
	}
	assert.Less(t, strings.Index(text, "git push origin HEAD:main"), strings.Index(text, "command: up"), "main holds the release before it runs")
	assert.Contains(t, text, "scripts/release.sh", "the images and secrets are checked as for any release")
}

// TestWorkflowsReachEitherStateBackend: every Pulumi command of the workflows runs on the stack
// named once per job (PULUMI_STACK: the stack for a self-managed backend, <org>/<stack> for
// Pulumi Cloud) against the backend the repository or environment names (PULUMI_BACKEND_URL,
// docs/account.md), and a job asks Pulumi Cloud for a token only when it uses Pulumi Cloud.
func TestWorkflowsReachEitherStateBackend(t *testing.T) {
	t.Parallel()
	type step struct {
		If   string            `yaml:"if"`
		Uses string            `yaml:"uses"`
		Run  string            `yaml:"run"`
		With map[string]string `yaml:"with"`
	}
	var jobs int
	for path, text := range workflowTexts(t) {
		var w struct {
			Jobs map[string]struct {
				Env   map[string]string `yaml:"env"`
				Steps []step            `yaml:"steps"`
			} `yaml:"jobs"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(text), &w))
		for name, job := range w.Jobs {
			usesPulumi := false
			for _, s := range job.Steps {
				switch {
				case strings.HasPrefix(s.Uses, "pulumi/actions@") && s.With["command"] != "":
					usesPulumi = true
					assert.Equalf(t, "${{ env.PULUMI_STACK }}", s.With["stack-name"], "%s %s: the stack", path, name)
					assert.Equalf(t, "${{ vars.PULUMI_BACKEND_URL }}", s.With["cloud-url"], "%s %s: the backend", path, name)
				case strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") && s.With["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}":
					// The account stack's deployment roles allow 4-hour sessions (account/github.go).
					assert.Equalf(t, "14400", s.With["role-duration-seconds"], "%s %s: a deployment's credentials outlast it", path, name)
				case strings.HasPrefix(s.Uses, "pulumi/auth-actions@"):
					assert.Containsf(t, s.If, "vars.PULUMI_BACKEND_URL == ''", "%s %s: a Pulumi Cloud token only for Pulumi Cloud", path, name)
				}
				assert.NotContainsf(t, s.Run, "PULUMI_ORG", "%s %s: scripts take PULUMI_STACK", path, name)
			}
			if !usesPulumi {
				continue
			}
			jobs++
			assert.Equalf(t, "${{ vars.PULUMI_BACKEND_URL }}", job.Env["PULUMI_BACKEND_URL"], "%s %s", path, name)
			assert.Regexpf(t, `^\$\{\{ vars.PULUMI_BACKEND_URL && (inputs.stack|'\w+') \|\| format\('\{0\}/\{1\}', vars.PULUMI_ORG, (inputs.stack|'\w+')\) \}\}$`,
				job.Env["PULUMI_STACK"], "%s %s", path, name)
		}
	}
	assert.Equal(t, 4, jobs, "the two previews, the deployment and the rollback")
}
