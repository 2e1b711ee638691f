package offline

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryExportIsInThePlan exports plain values, which no resource's output carries, beside
// a resource's output: each is in the plan's outputs every time, not only when its apply
// happened to run before Run returned.
func TestEveryExportIsInThePlan(t *testing.T) {
	const exports = 50
	for run := range 20 {
		p, err := Run("project", "stack", nil, func(ctx *pulumi.Context) error {
			ctx.Export("secret", pulumi.ToSecret(pulumi.String("s")))
			for i := range exports {
				ctx.Export(fmt.Sprintf("plain-%d", i), pulumi.String(fmt.Sprint(i)))
			}
			return nil
		})
		require.NoError(t, err)
		require.Lenf(t, p.Outputs, exports+1, "run %d", run)
		assert.Equal(t, "7", p.Outputs["plain-7"])
		assert.Equal(t, SecretPlaceholder, p.Outputs["secret"])
	}
}

// component is a component resource for the engine's tests.
type component struct{ pulumi.ResourceState }

// TestAliasesAreTheURNsPulumiDerives gives resources the aliases a refactoring leaves
// (another parent, no parent, a renamed type, a whole URN) and expects the URNs Pulumi's engine
// would answer to, children of an aliased component included, as in Pulumi's own alias docs.
func TestAliasesAreTheURNsPulumiDerives(t *testing.T) {
	p, err := Run("proj", "dev", nil, func(ctx *pulumi.Context) error {
		parent := &component{}
		if err := ctx.RegisterComponentResource("my:index:Area", "area", parent,
			pulumi.Aliases([]pulumi.Alias{{Type: pulumi.String("my:index:OldArea")}})); err != nil {
			return err
		}
		child := &component{}
		if err := ctx.RegisterComponentResource("my:index:Part", "part", child, pulumi.Parent(parent),
			pulumi.Aliases([]pulumi.Alias{
				{ParentURN: pulumi.URN("urn:pulumi:dev::proj::my:index:Other::other")},
				{NoParent: pulumi.Bool(true), Name: pulumi.String("old-part")},
				{URN: pulumi.URN("urn:pulumi:dev::proj::my:index:Legacy::legacy")},
			})); err != nil {
			return err
		}
		return nil
	})
	require.NoError(t, err)
	var area, part *PlanResource
	for _, r := range p.Resources {
		switch r.Name {
		case "area":
			area = r
		case "part":
			part = r
		}
	}
	require.NotNil(t, area)
	require.NotNil(t, part)
	assert.Equal(t, []string{"urn:pulumi:dev::proj::my:index:OldArea::area"}, area.Aliases)
	assert.Equal(t, []string{
		"urn:pulumi:dev::proj::my:index:Legacy::legacy",
		"urn:pulumi:dev::proj::my:index:OldArea$my:index:Part::part",
		"urn:pulumi:dev::proj::my:index:Other$my:index:Part::part",
		"urn:pulumi:dev::proj::my:index:Part::old-part",
	}, part.Aliases)
}

// TestTwoResourcesOfOneTypeAndNameAreRefused: the Pulumi engine refuses a second resource of
// the same type and name under a parent of the same type (their URNs are one), so the offline
// engine does too; under parents of different types they are two.
func TestTwoResourcesOfOneTypeAndNameAreRefused(t *testing.T) {
	_, err := Run("proj", "dev", nil, func(ctx *pulumi.Context) error {
		for range 2 {
			if err := ctx.RegisterComponentResource("my:index:Area", "area", &component{}); err != nil {
				return err
			}
		}
		return nil
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "duplicate resource URN 'urn:pulumi:dev::proj::my:index:Area::area'")

	p, err := Run("proj", "dev", nil, func(ctx *pulumi.Context) error {
		a, b := &component{}, &component{}
		if err := ctx.RegisterComponentResource("my:index:A", "parent", a); err != nil {
			return err
		}
		if err := ctx.RegisterComponentResource("my:index:B", "parent", b); err != nil {
			return err
		}
		for _, parent := range []*component{a, b} {
			if err := ctx.RegisterComponentResource("my:index:Part", "part", &component{}, pulumi.Parent(parent)); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Len(t, p.Resources, 4)
}
