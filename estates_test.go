package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test estates of testdata/adopt (estates.py writes them from seed.tfstate): Terraform
// states of the seed's setup as teams built it, with their own names. Each is adopted the way
// README's "Migrating from Terraform" says, following the report's own suggestions word for
// word until adopt writes the import files; nothing of the data is replaced on the way.

// estate is one test estate and what its first report must say.
type estate struct {
	file string
	// sets are what a team sets before the first run (README, step 3).
	sets []string
	// first are lines the first report must have.
	first []string
}

// golden is the name of the estate's golden files: its state's.
func (e estate) golden() string { return strings.TrimSuffix(e.file, ".tfstate") }

var estates = map[string]estate{
	// The seed's own layout: the database and the cache in the private subnets, beside the
	// tasks; HTTPS; the team's service names; pg_stat_statements.
	"two-tier": {file: "two-tier.tfstate", sets: []string{"domainName=dispatch.coldchain.example"}, first: []string{
		`pulumi config set --stack production isolatedSubnetCidrs '["10.0.11.0/24","10.0.12.0/24"]'   # keeps the isolated subnets 10.0.11.0/24, 10.0.12.0/24 of aws_vpc.main, where the database and the cache live`,
		`pulumi config set --stack production privateSubnetCidrs '["10.0.64.0/18","10.0.128.0/18"]'   # makes new private subnets for the tasks`,
		`pulumi config set --stack production dbParameters '{"shared_preload_libraries":"pg_stat_statements"}'   # keeps parameters of aws_db_parameter_group.main`,
		`pulumi config set --stack production hostedZoneId Z04712313QD7E5UO8GSXV   # keeps zoneId of aws_route53_record.app`,
		`the program drops {name=shared_preload_libraries value=pg_stat_statements}`,
		`pulumi config set --stack production redisEngine redis`,
	}},
	// The same in zones a and c.
	"two-tier-ac": {file: "two-tier-ac.tfstate", sets: []string{"domainName=dispatch.coldchain.example"}, first: []string{
		`pulumi config set --stack production availabilityZones '["ap-northeast-2a","ap-northeast-2c"]'   # keeps the zones`,
	}},
	// A team that gave the database its own subnets (and served HTTP only).
	"three-tier": {file: "seed.tfstate", first: []string{
		`pulumi config set --stack production isolatedSubnetCidrs '["10.0.21.0/24","10.0.22.0/24"]'`,
		`pulumi config set --stack production privateSubnetCidrs '["10.0.11.0/24","10.0.12.0/24"]'   # keeps the private subnets`,
	}},
	// The two-tier estate with what a team adds over time and the stack does not declare.
	"extras": {file: "extras.tfstate", sets: []string{"domainName=dispatch.coldchain.example"}},
}

// followReport runs adopt on an estate as a team would: the first run with what README's
// step 3 sets, then each next run as the report's own rerun line prints it, until adopt
// writes the import files or has nothing more to suggest. It returns every run.
func followReport(t *testing.T, e estate) []adoptRun {
	t.Helper()
	sets := append(slices.Clone(seedBase), e.sets...)
	path := e.file
	if !filepath.IsAbs(path) {
		path = filepath.Join("testdata", "adopt", e.file)
	}
	runs := []adoptRun{runAdopt(t, path, sets)}
	for len(runs) < 5 && runs[len(runs)-1].code != 0 {
		args := rerunLine(t, runs[len(runs)-1].stdout)
		if args == nil {
			break
		}
		runs = append(runs, runCommand(t, args, runs[0].out))
	}
	return runs
}

// rerunLine is the adopt command a report prints to try its suggestions, as a shell splits
// it, without "go run ."; nil when it prints none.
func rerunLine(t *testing.T, report string) []string {
	t.Helper()
	_, after, found := strings.Cut(report, "The same run with all of it, to try before setting anything:\n  ")
	if !found {
		return nil
	}
	line, _, _ := strings.Cut(after, "\n")
	words := shellWords(t, line)
	require.Equal(t, []string{"go", "run", "."}, words[:3], line)
	return words[3:]
}

// runCommand runs the program's command line, writing the import files to out.
func runCommand(t *testing.T, args []string, out string) adoptRun {
	t.Helper()
	args = append(slices.Clone(args), "--out", out)
	var stdout, stderr strings.Builder
	code := command(args, &stdout, &stderr)
	return adoptRun{code, stdout.String(), stderr.String(), out}
}

// shellWords splits a line as a POSIX shell does the words adopt prints: bare, or single-quoted
// as adopt.ShellQuote writes them.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var word strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			word.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == ' ':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case c == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case strings.ContainsRune(`"$&|;<>()*?[]{}`+"`", rune(c)):
			t.Fatalf("unquoted %q in %s: a shell would not pass it as it is", c, line)
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	require.False(t, quoted, "an unterminated quote in %s", line)
	if inWord {
		words = append(words, word.String())
	}
	return words
}

var configSetLine = regexp.MustCompile(`(?m)^  (pulumi config set --stack production .*?)   # `)

func TestEveryTestEstateIsAdoptedByFollowingItsReportWordForWord(t *testing.T) {
	t.Parallel()
	for name, e := range estates {
		t.Run(name, func(t *testing.T) {
			runs := followReport(t, e)
			last := runs[len(runs)-1]
			require.Equal(t, 0, last.code, "after %d runs:\n%s\n%s", len(runs), last.stdout, last.stderr)
			assert.NotContains(t, last.stdout, "Config that keeps what exists", "nothing left to suggest")
			for _, want := range e.first {
				assert.Contains(t, runs[0].stdout, want)
			}

			// Every "pulumi config set" line is a command a shell passes as it is, and sets what
			// the rerun line sets.
			for _, run := range runs[:len(runs)-1] {
				rerun := strings.Join(rerunLine(t, run.stdout), "\x00")
				for _, m := range configSetLine.FindAllStringSubmatch(run.stdout, -1) {
					words := shellWords(t, m[1])
					require.Len(t, words, 7, m[1])
					assert.Contains(t, rerun, "-c\x00"+words[5]+"="+words[6], m[1])
				}
			}

			// Nothing that holds data is replaced, and every one is adopted.
			report := last.stdout
			for _, typ := range []string{dbType, redisType, "aws:s3/bucketV2:BucketV2", "aws:ecr/repository:Repository",
				"aws:ec2/vpc:Vpc", "aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup", "aws:kms/key:Key"} {
				adopted := adoptedBlocks(report, typ)
				assert.NotEmpty(t, adopted, "%s adopted", typ)
				for _, block := range adopted {
					assert.NotContains(t, block, "REPLACES", block)
				}
			}
			golden(t, "adopt/"+e.golden()+".report.txt", strings.ReplaceAll(report, filepath.Dir(last.out)+string(filepath.Separator), ""))
			golden(t, "adopt/"+e.golden()+".import.json", readText(t, last.out))
			if second := strings.TrimSuffix(last.out, ".json") + "-2.json"; fileExists(second) {
				golden(t, "adopt/"+e.golden()+".import-2.json", readText(t, second))
			}
		})
	}
}

// adoptedBlocks are the report's entries of the adopted resources of a type, each with its
// changes.
func adoptedBlocks(report, typ string) []string {
	var out []string
	lines := strings.Split(report, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "  "+typ+"  ") || !strings.Contains(l, "  <- ") {
			continue
		}
		block := l
		for _, next := range lines[i+1:] {
			if !strings.HasPrefix(next, "      ") {
				break
			}
			block += "\n" + next
		}
		out = append(out, block)
	}
	return out
}

// TestTheTwoTierEstateKeepsItsDataWhereItIs: the database and the cache stay in their
// subnets, which become the isolated tier as they are (ids, CIDRs, route tables); the tasks
// move to new private subnets the VPC has room for, in a rolling deployment of the services.
func TestTheTwoTierEstateKeepsItsDataWhereItIs(t *testing.T) {
	t.Parallel()
	runs := followReport(t, estates["two-tier"])
	last := runs[len(runs)-1]
	require.Equal(t, 0, last.code, last.stdout)
	report := last.stdout
	for _, want := range []string{
		"  aws:ec2/subnet:Subnet  vpc-isolated-1  <- aws_subnet.private[0]  (import id subnet-0ab6c5b39331b0a81e;",
		"  aws:ec2/routeTable:RouteTable  vpc-isolated-1  <- aws_route_table.private[0]",
		"  aws:ec2/routeTableAssociation:RouteTableAssociation  vpc-isolated-2  <- aws_route_table_association.private[1]",
		// The services change subnets in place: a rolling deployment.
		"      networkConfiguration.subnets.*: subnet-0ab6c5b39331b0a81e, subnet-063d81dc574543a4e9 -> (new Subnet vpc-private-1), (new Subnet vpc-private-2)\n",
		// The route to the NAT gateway the former private tables keep is left for after.
		"  aws_route_table.private[0] (route 1, 0.0.0.0/0)  route 0.0.0.0/0 via nat-035ba796cd9fb8bf8b",
		// The certificate and the records of the domain are adopted, in the estate's zone.
		"  aws:acm/certificate:Certificate  certificate  <- aws_acm_certificate.main",
		"  aws:route53/record:Record  certificate-validation  <- aws_route53_record.cert_validation  (import id Z04712313QD7E5UO8GSXV__8f14e45fceea167a5a36dedd4bea2543.dispatch.coldchain.example_CNAME;",
		"  aws:route53/record:Record  alias  <- aws_route53_record.app  (import id Z04712313QD7E5UO8GSXV_dispatch.coldchain.example_A;",
		"  aws:lb/listener:Listener  https  <- aws_lb_listener.https",
		// The team's service names are kept.
		"  aws:ecs/service:Service  backend  <- aws_ecs_service.backend  (import id coldchain-production-cluster/coldchain-production-backend-service;",
	} {
		assert.Contains(t, report, want)
	}
	for _, block := range append(adoptedBlocks(report, "aws:route53/record:Record"), adoptedBlocks(report, "aws:acm/certificate:Certificate")...) {
		assert.NotContains(t, block, "REPLACES", block)
	}
	for _, block := range adoptedBlocks(report, "aws:ecs/service:Service") {
		assert.NotContains(t, block, "name:", "the service keeps its name")
	}
	assert.Regexp(t, `(?m)^  aws:ec2/subnet:Subnet  vpc-private-1$`, report, "the tasks' new subnets are created")

	// The stack adopted this way plans the layout adopt printed: the data's subnets isolated,
	// routing nowhere the program declares, the tasks in the new ranges.
	var sets []string
	for i, w := range rerunLine(t, runs[len(runs)-2].stdout) {
		if i > 0 && rerunLine(t, runs[len(runs)-2].stdout)[i-1] == "-c" {
			sets = append(sets, w)
		}
	}
	p := planOfStack(t, "production", with(mustLoad(t), sets...))
	assert.Equal(t, "10.0.11.0/24", p.One(t, "aws:ec2/subnet:Subnet", "vpc-isolated-1").In("cidrBlock"))
	assert.Equal(t, "10.0.64.0/18", p.One(t, "aws:ec2/subnet:Subnet", "vpc-private-1").In("cidrBlock"))
	for _, r := range p.Resources {
		if r.Type == routeType {
			assert.NotContains(t, r.Name, "isolated", "an isolated subnet routes nowhere")
		}
	}
	params := p.One(t, "aws:rds/parameterGroup:ParameterGroup", "postgres").List("parameters")
	assert.Contains(t, params, map[string]any{"name": "shared_preload_libraries", "value": "pg_stat_statements", "applyMethod": "pending-reboot"})
	assert.Contains(t, params, map[string]any{"name": "rds.force_ssl", "value": "1"})
}

// TestTheTasksNewSubnetsAreFreeRangesOfTheVPC: the private subnets adopt suggests overlap no
// subnet the VPC has, and a VPC without room says so.
func TestTheTasksNewSubnetsAreFreeRangesOfTheVPC(t *testing.T) {
	t.Parallel()
	vpc := mustPrefix("10.0.0.0/16")
	taken := []string{"10.0.1.0/24", "10.0.2.0/24", "10.0.11.0/24", "10.0.12.0/24"}
	assert.Equal(t, []string{"10.0.64.0/18", "10.0.128.0/18"}, prefixStrings(freeBlocks(vpc, mustPrefixes(taken...), 2, 40, 2)))
	// A /20 VPC whose four /22s are taken but one: /23s, then /24s, as long as they hold the tasks.
	small := mustPrefix("10.1.0.0/20")
	assert.Equal(t, []string{"10.1.12.0/23", "10.1.14.0/23"},
		prefixStrings(freeBlocks(small, mustPrefixes("10.1.0.0/22", "10.1.4.0/22", "10.1.8.0/22"), 2, 40, 2)))
	// No room for blocks that hold the tasks.
	assert.Nil(t, freeBlocks(small, mustPrefixes("10.1.0.0/21", "10.1.8.0/22", "10.1.12.0/23", "10.1.14.0/24", "10.1.15.0/25"), 2, 200, 2))
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func mustPrefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, mustPrefix(s))
	}
	return out
}

func prefixStrings(ps []netip.Prefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestAdoptRefusesDataInTheLoadBalancersSubnets: a database in public subnets cannot stay
// where it is under the program, which keeps the data in subnets that route nowhere.
func TestAdoptRefusesDataInTheLoadBalancersSubnets(t *testing.T) {
	t.Parallel()
	path := estateState(t, "two-tier.tfstate", func(state map[string]any) {
		public := attributesOf(state, "aws_lb", "main")["subnets"]
		attributesOf(state, "aws_db_subnet_group", "main")["subnet_ids"] = public
	})
	run := runAdopt(t, path, append(slices.Clone(seedBase), "domainName=dispatch.coldchain.example"))
	assertNothingWritten(t, run)
	assert.Contains(t, run.stdout, "the database or the cache shares subnet subnet-0fb47ed7641c753555 (10.0.1.0/24) with the load balancer")
	assert.NotContains(t, run.stdout, "privateSubnetCidrs", "no layout is suggested for an estate that cannot keep its data")
}

// estateState writes a test estate, changed by mutate, to a temporary file.
func estateState(t *testing.T, file string, mutate func(state map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile("testdata/adopt/" + file)
	require.NoError(t, err)
	var state map[string]any
	require.NoError(t, json.Unmarshal(data, &state))
	mutate(state)
	data, err = json.Marshal(state)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "terraform.tfstate")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// TestReadmesMigrationSectionIsTheReportsRunbook: README's runbook names what the report prints
// and the test estates it is walked on.
func TestReadmesMigrationSectionIsTheReportsRunbook(t *testing.T) {
	t.Parallel()
	section := readmeSection(t, "## Migrating from Terraform")
	reports := reportsOf(followReport(t, estates["two-tier"]))
	for _, printed := range []string{"Config that keeps what exists", "The same run with all of it", "Unmanaged afterwards", "Left to Terraform"} {
		require.True(t, strings.Contains(reports, printed), "the reports print %q", printed)
		assert.Contains(t, section, printed, "README names the report's %q", printed)
	}
	for _, e := range estates {
		assert.Contains(t, section, "`"+e.file+"`")
	}
	for _, key := range []string{"isolatedSubnetCidrs", "privateSubnetCidrs", "availabilityZones", "dbParameters", "hostedZoneId", "domainName"} {
		assert.Contains(t, section, "`"+key+"`")
	}
}

// TestALogGroupOfAnotherNameIsPairedByItsRole: a team's log group of its own name is the one
// its task definition writes to; adopt keeps it, history and all, with the key that names it.
func TestALogGroupOfAnotherNameIsPairedByItsRole(t *testing.T) {
	t.Parallel()
	path := estateState(t, "two-tier.tfstate", func(state map[string]any) {
		replaceInState(t, state, "/ecs/coldchain-production/backend", "/ecs/coldchain-backend")
	})
	e := estates["two-tier"]
	e.file = path
	runs := followReport(t, e)
	last := runs[len(runs)-1]
	require.Equal(t, 0, last.code, "%s\n%s", last.stderr, tail(last.stdout, 3000))
	reports := reportsOf(runs)
	assert.True(t, strings.Contains(reports, "pulumi config set --stack production backendLogGroupName /ecs/coldchain-backend   # keeps name of aws_cloudwatch_log_group.backend"))
	assert.Contains(t, last.stdout, "  aws:cloudwatch/logGroup:LogGroup  backend  <- aws_cloudwatch_log_group.backend  (import id /ecs/coldchain-backend;")
	for _, block := range adoptedBlocks(last.stdout, logGroupType) {
		assert.NotContains(t, block, "REPLACES", block)
	}
}

// tail is the end of a long text, for a failure message.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// TestALogGroupIsPairedThroughItsContainerNotItsPosition: a task definition that lists a sidecar
// first still names the backend's log group under the backend's container.
func TestALogGroupIsPairedThroughItsContainerNotItsPosition(t *testing.T) {
	t.Parallel()
	path := estateState(t, "two-tier.tfstate", func(state map[string]any) {
		replaceInState(t, state, "/ecs/coldchain-production/backend", "/ecs/coldchain-backend")
		// A log router first, writing to a log group of its own.
		extraResource(state, awsProvider, "aws_cloudwatch_log_group", "router", map[string]any{"id": "/ecs/coldchain-router",
			"name": "/ecs/coldchain-router", "arn": "arn:aws:logs:ap-northeast-2:111122223333:log-group:/ecs/coldchain-router",
			"retention_in_days": 7.0})
		td := attributesOf(state, "aws_ecs_task_definition", "backend")
		var defs []any
		require.NoError(t, json.Unmarshal([]byte(td["container_definitions"].(string)), &defs))
		router := map[string]any{"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
			"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]any{"awslogs-group": "/ecs/coldchain-router"}}}
		b, err := json.Marshal(append([]any{router}, defs...))
		require.NoError(t, err)
		td["container_definitions"] = string(b)
	})
	e := estates["two-tier"]
	e.file = path
	reports := reportsOf(followReport(t, e))
	assert.Contains(t, reports, "pulumi config set --stack production backendLogGroupName /ecs/coldchain-backend   # keeps name of aws_cloudwatch_log_group.backend")
	assert.NotContains(t, reports, "backendLogGroupName /ecs/coldchain-router")
}

// replaceInState replaces a string everywhere in a state (a name in every attribute that holds
// it), as a team's other naming would have it.
func replaceInState(t *testing.T, state map[string]any, old, new string) {
	t.Helper()
	data, err := json.Marshal(state)
	require.NoError(t, err)
	replaced := strings.ReplaceAll(string(data), old, new)
	for k := range state {
		delete(state, k)
	}
	require.NoError(t, json.Unmarshal([]byte(replaced), &state))
}

// reportsOf are the reports of every run, one after the other.
func reportsOf(runs []adoptRun) string {
	var b strings.Builder
	for _, run := range runs {
		b.WriteString(run.stdout)
	}
	return b.String()
}
