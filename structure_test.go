package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The program's files stand in floors: each uses names (types, functions, constants,
// variables, fields, methods) of the files below it only. Config and everything its
// validation needs stand at the bottom, each area reads its Args and what lower files give it,
// the wiring (main.go) stands on top. These tests type-check the package to see who uses
// whom, as the compiler does; "go test -run TestTheProgramsFilesStandInFloors -v" prints the
// floors.

// fileUses type-checks the program's files (not its tests) and returns, by file, the files
// whose package-level names, fields and methods it uses, with those names.
func fileUses(t *testing.T) map[string]map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	paths, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var files []*ast.File
	imports := map[string]bool{}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		files = append(files, f)
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			imports[p] = true
		}
	}
	// The compiled export data of what the files import: built already by this test's build.
	list := exec.Command("go", append([]string{"list", "-deps", "-export", "-json=ImportPath,Export"}, slices.Sorted(maps.Keys(imports))...)...)
	out, err := list.Output()
	require.NoError(t, err, "go list -export")
	exports := map[string]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct{ ImportPath, Export string }
		require.NoError(t, dec.Decode(&p))
		exports[p.ImportPath] = p.Export
	}
	lookup := func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(exports[path])
	}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", lookup)}
	pkg, err := conf.Check("main", fset, files, info)
	require.NoError(t, err)

	named := map[string]map[string]map[string]bool{}
	for id, obj := range info.Uses {
		if obj.Pkg() != pkg || !obj.Pos().IsValid() || !packageLevel(pkg, obj) {
			continue
		}
		from, to := fset.Position(id.Pos()).Filename, fset.Position(obj.Pos()).Filename
		if from == to {
			continue
		}
		if named[from] == nil {
			named[from] = map[string]map[string]bool{}
		}
		if named[from][to] == nil {
			named[from][to] = map[string]bool{}
		}
		named[from][to][obj.Name()] = true
	}
	uses := map[string]map[string][]string{}
	for from, tos := range named {
		uses[from] = map[string][]string{}
		for to, names := range tos {
			uses[from][to] = slices.Sorted(maps.Keys(names))
		}
	}
	for _, f := range files {
		name := fset.Position(f.Pos()).Filename
		if uses[name] == nil {
			uses[name] = map[string][]string{}
		}
	}
	return uses
}

// packageLevel is true for what another file can use: a package-level name, a field or a
// method. A function's own locals are not.
func packageLevel(pkg *types.Package, obj types.Object) bool {
	switch o := obj.(type) {
	case *types.Var:
		return o.IsField() || o.Parent() == pkg.Scope()
	case *types.Func:
		return o.Type().(*types.Signature).Recv() != nil || o.Parent() == pkg.Scope()
	}
	return obj.Parent() == pkg.Scope()
}

// floors lays the files in floors, each one above every file it uses (1 is the ground), and
// returns the uses that run back up when some do: a file that uses one that uses it back.
func floors(uses map[string]map[string][]string) (map[string]int, []string) {
	floor := map[string]int{}
	state := map[string]int{} // 1 visiting, 2 done
	var back []string
	var visit func(string) int
	visit = func(f string) int {
		switch state[f] {
		case 1:
			return 0
		case 2:
			return floor[f]
		}
		state[f] = 1
		level := 1
		for _, to := range slices.Sorted(maps.Keys(uses[f])) {
			if state[to] == 1 {
				back = append(back, fmt.Sprintf("%s uses %s of %s, which uses it back", f, strings.Join(uses[f][to], ", "), to))
				continue
			}
			level = max(level, visit(to)+1)
		}
		state[f], floor[f] = 2, level
		return level
	}
	for _, f := range slices.Sorted(maps.Keys(uses)) {
		visit(f)
	}
	return floor, back
}

func TestTheProgramsFilesStandInFloors(t *testing.T) {
	t.Parallel()
	uses := fileUses(t)
	floor, back := floors(uses)
	assert.Empty(t, back, "a use that runs back up: move the name down to where both files can reach it, or give the lower file its own Args")

	byFloor := map[int][]string{}
	for f, n := range floor {
		byFloor[n] = append(byFloor[n], f)
	}
	for n := len(byFloor); n >= 1; n-- {
		slices.Sort(byFloor[n])
		t.Logf("floor %2d  %s", n, strings.Join(byFloor[n], " "))
	}

	// Config, with everything its validation needs, stands below every area it configures.
	areas := []string{"network.go", "storage.go", "bucket.go", "database.go", "dr.go", "waf.go", "ecs.go",
		"loadbalancer.go", "redeploy.go", "autoscaling.go", "alarms.go", "accountsettings.go"}
	for _, area := range areas {
		for _, cfg := range []string{"config.go", "configreader.go", "validate.go"} {
			if floor[cfg] == 0 || floor[area] == 0 {
				t.Fatalf("%s or %s is no longer a file of the program: update this test", cfg, area)
			}
			if names, ok := uses[cfg][area]; ok {
				t.Errorf("%s uses %s of %s: what config needs lives with or below config", cfg, strings.Join(names, ", "), area)
			}
		}
	}
	// The wiring stands on top: main.go uses every area, and nothing uses main.go.
	for from, tos := range uses {
		if _, ok := tos["main.go"]; ok {
			t.Errorf("%s uses %s of main.go: main.go only wires; what others need lives below it", from, strings.Join(tos["main.go"], ", "))
		}
	}
	for _, area := range areas {
		assert.Greaterf(t, floor["main.go"], floor[area], "main.go stands above %s", area)
	}
}

// TestTheFloorCheckSeesAUseThatRunsBackUp: the check above fails on a cycle.
func TestTheFloorCheckSeesAUseThatRunsBackUp(t *testing.T) {
	t.Parallel()
	_, back := floors(map[string]map[string][]string{
		"config.go":   {"network.go": {"availabilityZoneCount"}},
		"network.go":  {"config.go": {"NetworkArgs"}},
		"main.go":     {"config.go": {"Config"}, "network.go": {"NewNetwork"}},
		"subnets.go":  {},
		"limits.go":   {},
		"validate.go": {"limits.go": {"sortedKeys"}},
	})
	require.Len(t, back, 1, "the one use of the circle that runs back up")
	assert.Regexp(t, `^(config.go uses availabilityZoneCount of network.go|network.go uses NetworkArgs of config.go), which uses it back$`, back[0])
	floor, back := floors(map[string]map[string][]string{
		"main.go": {"config.go": {"Config"}, "network.go": {"NewNetwork"}}, "network.go": {"config.go": {"Config"}}, "config.go": {},
	})
	assert.Empty(t, back)
	assert.Equal(t, map[string]int{"config.go": 1, "network.go": 2, "main.go": 3}, floor)
}
