package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestGenerate(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Path:      "github.com/vigilhq/vigil/cmd/vigil",
		Main:      debug.Module{Path: "github.com/vigilhq/vigil", Version: "v1.2.3"},
		Deps: []*debug.Module{
			{Path: "modernc.org/sqlite", Version: "v1.60.1", Sum: "h1:abc="},
			{Path: "github.com/BurntSushi/toml", Version: "v2.0.0+incompatible", Sum: "h1:def="},
			{Path: "example.com/old", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/new", Version: "v1.0.1", Sum: "h1:ghi="}},
		},
		Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "-ldflags", Value: "-X main.secret=x"}, {Key: "vcs.revision", Value: "a2eafdf"}},
	}
	bom := Generate(info, strings.Repeat("ab", 32), time.Unix(0, 0))
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.5" || !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") {
		t.Fatalf("header: %+v", bom)
	}
	if got := bom.Metadata.Component.PURL; got != "pkg:golang/github.com/vigilhq/vigil@v1.2.3" {
		t.Errorf("main purl %s", got)
	}
	want := map[string]string{
		"stdlib":                     "pkg:golang/stdlib@v1.26.8",
		"modernc.org/sqlite":         "pkg:golang/modernc.org/sqlite@v1.60.1",
		"github.com/BurntSushi/toml": "pkg:golang/github.com/BurntSushi/toml@v2.0.0%2Bincompatible",
		"example.com/new":            "pkg:golang/example.com/new@v1.0.1",
	}
	if len(bom.Components) != len(want) {
		t.Fatalf("%d components, want %d", len(bom.Components), len(want))
	}
	for _, c := range bom.Components {
		if want[c.Name] != c.PURL {
			t.Errorf("%s: purl %s, want %s", c.Name, c.PURL, want[c.Name])
		}
	}
	b, _ := json.Marshal(bom)
	if strings.Contains(string(b), "main.secret") {
		t.Error("-ldflags leaked into the SBOM")
	}
	if len(bom.Dependencies) != 1+len(bom.Components) || len(bom.Dependencies[0].DependsOn) != len(bom.Components) {
		t.Errorf("dependencies: %+v", bom.Dependencies)
	}
}

// TestRunOnTestBinary reads the build information of the running test
// binary, a real Go executable.
func TestRunOnTestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	out := filepath.Join(t.TempDir(), "bom.json")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if err := run(exe, out, "v9.9.9-test"); err != nil {
		t.Fatal(err)
	}
	var bom BOM
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.Metadata.Timestamp != "2023-11-14T22:13:20Z" || len(bom.Metadata.Component.Hashes) != 1 {
		t.Errorf("metadata: %+v", bom.Metadata)
	}
}
