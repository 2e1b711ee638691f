package tfstate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const state = `{
  "version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "l",
  "resources": [
    {"mode": "data", "type": "aws_availability_zones", "name": "available",
     "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
     "instances": [{"attributes": {"id": "ap-northeast-2"}}]},
    {"mode": "managed", "type": "aws_subnet", "name": "public", "each": "list",
     "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
     "instances": [{"index_key": 0, "attributes": {"id": "subnet-1", "arn": "arn:aws:ec2:ap-northeast-2:111122223333:subnet/subnet-1"}},
                   {"index_key": 1, "attributes": {"id": "subnet-2", "arn": "arn:aws:ec2:ap-northeast-2:111122223333:subnet/subnet-2"}}]},
    {"module": "module.edge", "mode": "managed", "type": "aws_acm_certificate", "name": "cdn", "each": "map",
     "provider": "provider[\"registry.terraform.io/hashicorp/aws\"].us_east_1",
     "instances": [{"index_key": "www", "attributes": {"arn": "arn:aws:acm:us-east-1:111122223333:certificate/x"}}]},
    {"mode": "managed", "type": "aws_iam_role", "name": "task",
     "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
     "instances": [{"attributes": {"name": "task", "arn": "arn:aws:iam::111122223333:role/task", "tags": ["a", "b"]}}]},
    {"mode": "managed", "type": "random_id", "name": "suffix",
     "provider": "provider[\"registry.terraform.io/hashicorp/random\"]",
     "instances": [{"attributes": {"hex": "ab12"}}]}
  ]
}`

func TestParseKeepsEveryManagedInstanceUnderItsAddress(t *testing.T) {
	s, err := Parse([]byte(state))
	require.NoError(t, err)
	assert.Equal(t, "1.9.8", s.TerraformVersion)
	assert.Equal(t, int64(3), s.Serial)
	var addresses []string
	for _, r := range s.Resources {
		addresses = append(addresses, r.Address)
	}
	// Data sources are not managed; instances keep their index keys as Terraform prints them.
	assert.Equal(t, []string{
		"aws_iam_role.task", "aws_subnet.public[0]", "aws_subnet.public[1]",
		`module.edge.aws_acm_certificate.cdn["www"]`, "random_id.suffix",
	}, addresses)

	cert := s.Resources[3]
	assert.True(t, cert.Aliased(), "the us_east_1 alias is another provider configuration")
	assert.Equal(t, "aws", cert.ProviderType())
	assert.False(t, s.Resources[0].Aliased())
	assert.Equal(t, "random", s.Resources[4].ProviderType())
	assert.Equal(t, "subnet-2", s.Resources[2].String("id"))
	assert.Equal(t, []string{"a", "b"}, s.Resources[0].Strings("tags"))
	assert.Empty(t, s.Resources[0].String("tags"), "a list is not a string")
}

func TestPlacementReadsRegionsAndAccountsOfTheDefaultProviderFromARNs(t *testing.T) {
	s, err := Parse([]byte(state))
	require.NoError(t, err)
	p := s.Placement("aws")
	// The aliased provider's certificate (us-east-1) and IAM's region-less ARN do not count as
	// regions; every ARN names the account.
	assert.Equal(t, map[string]int{"ap-northeast-2": 2}, p.Regions)
	assert.Equal(t, map[string]int{"111122223333": 3}, p.Accounts)
}

func TestParseRefusesWhatIsNotAVersion4StateWithResources(t *testing.T) {
	for name, tc := range map[string]struct{ data, want string }{
		"not JSON":          {`version = 4`, "not JSON"},
		"no version":        {`{"resources": []}`, `no "version"`},
		"version 3":         {`{"version": 3, "resources": []}`, "state format version 3: only version 4"},
		"nothing managed":   {`{"version": 4, "resources": []}`, "records no managed resource"},
		"only data sources": {`{"version": 4, "resources": [{"mode": "data", "type": "aws_region", "name": "x", "instances": [{"attributes": {}}]}]}`, "no managed resource"},
		"flat attributes": {`{"version": 4, "resources": [{"mode": "managed", "type": "aws_vpc", "name": "x",
			"instances": [{"attributes_flat": {"id": "vpc-1"}}]}]}`, "old state format"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestProvidersOfEveryStateWriterAreRead(t *testing.T) {
	for provider, want := range map[string]struct {
		typ     string
		aliased bool
	}{
		`provider["registry.terraform.io/hashicorp/aws"]`:             {"aws", false},
		`provider["registry.terraform.io/hashicorp/aws"].replica`:     {"aws", true},
		`module.edge.provider["registry.terraform.io/hashicorp/aws"]`: {"aws", false},
		"provider.aws":                {"aws", false}, // Terraform 0.12
		"provider.aws.replica":        {"aws", true},
		"module.edge.provider.random": {"random", false},
		"":                            {"", false},
	} {
		r := &Resource{Provider: provider}
		assert.Equal(t, want.typ, r.ProviderType(), provider)
		assert.Equal(t, want.aliased, r.Aliased(), provider)
	}
}

func TestDeposedObjectsAreKeptUnderTheirOwnAddress(t *testing.T) {
	s, err := Parse([]byte(`{"version": 4, "resources": [{"mode": "managed", "type": "aws_s3_bucket", "name": "b",
		"provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
		"instances": [{"attributes": {"id": "new"}}, {"deposed": "00000001", "attributes": {"id": "old"}}]}]}`))
	require.NoError(t, err)
	require.Len(t, s.Resources, 2)
	assert.Equal(t, "aws_s3_bucket.b (deposed object 00000001)", s.Resources[1].Address)
	assert.Equal(t, "old", s.Resources[1].String("id"))
}

func TestParseNamesTheFieldOfTheWrongType(t *testing.T) {
	_, err := Parse([]byte(`{"version": 4, "resources": {"aws_vpc": {}}}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"resources" is a JSON object where the format has another type`)
}
