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
