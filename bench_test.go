package main

import (
	"testing"

	"coldchain/internal/offline"
)

// BenchmarkPlanProduction measures planning the whole production stack offline, released
// (its services included), config loading included: what "go run . plan" and every test that
// plans pay once the program is built.
func BenchmarkPlanProduction(b *testing.B) {
	raw, err := offline.LoadStackConfig(".", project, "production")
	if err != nil {
		b.Fatal(err)
	}
	raw = with(raw, released()...)
	b.ReportAllocs()
	for b.Loop() {
		p, err := planStack(project, "production", raw)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Resources) == 0 {
			b.Fatal("empty plan")
		}
	}
}
