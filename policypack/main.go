// Command policypack serves the guard rules (internal/guard) as a Pulumi policy pack, so that
// "pulumi preview --policy-pack policypack" and "pulumi up --policy-pack policypack" enforce
// on a real stack the guarantees the unit tests check on the offline plan. README's "The
// policy pack" says how to run it; staging.json is staging's policy config.
package main

import (
	"coldchain/internal/guard"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func main() {
	if err := policyx.Main(func(*pulumi.Context) (policyx.PolicyPack, error) { return guard.Pack() }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
