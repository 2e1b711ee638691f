// Command policypack serves the guard rules (internal/guard) as a Pulumi policy pack, so that
// "pulumi preview --policy-pack policypack" and "pulumi up --policy-pack policypack" enforce
// on a real stack the guarantees the unit tests check on the offline plan. README's "The
// policy pack" says how to run it; staging.json is staging's policy config.
package main

import (
	"coldchain/internal/guard"
	"fmt"
	"os"
)

func main() {
	if err := guard.Serve(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
