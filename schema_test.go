package main

import (
	"coldchain/internal/offline"
	"coldchain/internal/schema"
	"strings"
	"testing"
)

// TestTheSchemaTableKnowsEveryTypeTheStacksDeclare holds the one table of what replaces what
// (internal/schema, read by adopt and by plan --against) to every custom resource type the
// shipped stacks and their variations declare: a type it does not know would be previewed as
// never replaced.
func TestTheSchemaTableKnowsEveryTypeTheStacksDeclare(t *testing.T) {
	t.Parallel()
	for _, v := range variations {
		p := planOfVariation(t, v)
		for _, r := range p.Resources {
			if !r.Custom || strings.HasPrefix(r.Type, "pulumi:providers:") {
				continue
			}
			if _, ok := schema.Lookup(r.Type); !ok {
				t.Errorf("%s declares %s (%s), which internal/schema does not know", v.name, r.Type, r.Name)
			}
		}
	}
}

// TestTheEngineAutonamesWhatPulumiAWSAutonames holds the offline engine's autonaming to the
// schema table's: a property the engine fills in is one pulumi-aws fills in.
func TestTheEngineAutonamesWhatPulumiAWSAutonames(t *testing.T) {
	t.Parallel()
	for _, typ := range schema.Types() {
		prop, ok := offline.AutonamedProperty(typ)
		if !ok {
			continue
		}
		if s, _ := schema.Lookup(typ); s.Autonamed != prop {
			t.Errorf("the engine autonames %s's %s; the schema table says %q", typ, prop, s.Autonamed)
		}
	}
}
