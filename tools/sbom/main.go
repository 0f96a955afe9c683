// Command sbom writes a CycloneDX 1.5 JSON software bill of materials for a
// Go binary, from the build information the Go toolchain embeds in it (the
// main module, every linked module with its version and go.sum hash, the Go
// version and the build settings). It needs nothing but the binary:
//
//	go run ./tools/sbom -o bin/vigil.cdx.json bin/vigil
//
// The output is deterministic for a given binary: the serial number is
// derived from the binary's SHA-256, and the timestamp is SOURCE_DATE_EPOCH
// when set, else the commit time recorded in the binary, else the binary's
// modification time.
package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	out := flag.String("o", "-", "output file (- for standard output)")
	version := flag.String("version", "", "the application's version, used when the binary records none (a build outside a tagged module records \"(devel)\")")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: sbom [-o FILE] [-version V] BINARY\n\nWrites a CycloneDX 1.5 JSON SBOM of a Go binary from its embedded build information.")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "sbom:", err)
		os.Exit(1)
	}
}

func run(binary, out, version string) error {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("read build info of %s: %w", binary, err)
	}
	if version != "" && (info.Main.Version == "" || info.Main.Version == "(devel)") {
		info.Main.Version = version
	}
	f, err := os.Open(binary)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ts, err := timestamp(info, st.ModTime(), os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	bom := Generate(info, hex.EncodeToString(h.Sum(nil)), ts)
	b, err := json.MarshalIndent(bom, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if out == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// timestamp picks the SBOM's time: SOURCE_DATE_EPOCH, the commit time, or
// the binary's modification time.
func timestamp(info *debug.BuildInfo, modTime time.Time, epoch string) (time.Time, error) {
	if epoch != "" {
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %v", epoch, err)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.time" {
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				return t.UTC(), nil
			}
		}
	}
	return modTime.UTC().Truncate(time.Second), nil
}

// BOM is the subset of the CycloneDX 1.5 JSON format that this tool writes.
type BOM struct {
	BOMFormat    string       `json:"bomFormat"`
	SpecVersion  string       `json:"specVersion"`
	SerialNumber string       `json:"serialNumber"`
	Version      int          `json:"version"`
	Metadata     Metadata     `json:"metadata"`
	Components   []Component  `json:"components"`
	Dependencies []Dependency `json:"dependencies"`
}

// Metadata describes the BOM and its subject, the binary.
type Metadata struct {
	Timestamp string    `json:"timestamp"`
	Tools     Tools     `json:"tools"`
	Component Component `json:"component"`
}

// Tools lists the tools that made the BOM.
type Tools struct {
	Components []Component `json:"components"`
}

// Component is an application or library.
type Component struct {
	BOMRef      string     `json:"bom-ref,omitempty"`
	Type        string     `json:"type"`
	Name        string     `json:"name"`
	Version     string     `json:"version,omitempty"`
	Description string     `json:"description,omitempty"`
	PURL        string     `json:"purl,omitempty"`
	Hashes      []Hash     `json:"hashes,omitempty"`
	Properties  []Property `json:"properties,omitempty"`
}

// Hash is a digest of a component's content.
type Hash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

// Property is a name-value pair.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Dependency says which components a component depends on.
type Dependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// Generate builds the BOM of a binary from its build information and its
// SHA-256 (hex).
func Generate(info *debug.BuildInfo, sha256hex string, ts time.Time) *BOM {
	mainVersion := info.Main.Version
	if mainVersion == "" {
		mainVersion = "(devel)"
	}
	mainPath := info.Main.Path
	if mainPath == "" {
		mainPath = info.Path
	}
	app := Component{
		BOMRef:  purl(mainPath, mainVersion),
		Type:    "application",
		Name:    mainPath,
		Version: mainVersion,
		PURL:    purl(mainPath, mainVersion),
		Hashes:  []Hash{{Alg: "SHA-256", Content: sha256hex}},
	}
	app.Properties = append(app.Properties, Property{"golang:package", info.Path})
	for _, s := range info.Settings {
		switch {
		case s.Key == "-ldflags":
			// Left out: it may carry values a build passed in; the
			// version is already in the component.
		case s.Key == "GOOS", s.Key == "GOARCH", s.Key == "GOAMD64", s.Key == "GOARM64",
			s.Key == "CGO_ENABLED", s.Key == "-trimpath", s.Key == "-tags", s.Key == "-buildmode",
			strings.HasPrefix(s.Key, "vcs"):
			app.Properties = append(app.Properties, Property{"golang:build:" + s.Key, s.Value})
		}
	}

	goVersion := strings.TrimPrefix(info.GoVersion, "go")
	std := Component{
		BOMRef:      purl("stdlib", "v"+goVersion),
		Type:        "library",
		Name:        "stdlib",
		Version:     "v" + goVersion,
		Description: "the Go standard library and runtime (" + info.GoVersion + ")",
		PURL:        purl("stdlib", "v"+goVersion),
	}
	comps := []Component{std}
	for _, d := range info.Deps {
		m := d
		var props []Property
		if d.Replace != nil {
			props = append(props, Property{"golang:replaces", d.Path + "@" + d.Version})
			m = d.Replace
		}
		if m.Sum != "" {
			// The go.sum hash (h1: is a SHA-256 over the module's file
			// list); kept verbatim, as `go mod verify` checks it.
			props = append(props, Property{"golang:sum", m.Sum})
		}
		comps = append(comps, Component{
			BOMRef:     purl(m.Path, m.Version),
			Type:       "library",
			Name:       m.Path,
			Version:    m.Version,
			PURL:       purl(m.Path, m.Version),
			Properties: props,
		})
	}
	sort.SliceStable(comps[1:], func(i, j int) bool { return comps[1+i].Name < comps[1+j].Name })

	deps := []Dependency{{Ref: app.BOMRef}}
	for _, c := range comps {
		deps[0].DependsOn = append(deps[0].DependsOn, c.BOMRef)
		deps = append(deps, Dependency{Ref: c.BOMRef, DependsOn: []string{}})
	}

	sum, _ := hex.DecodeString(sha256hex)
	if len(sum) < 16 {
		s := sha256.Sum256([]byte(app.BOMRef + sha256hex))
		sum = s[:]
	}
	return &BOM{
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.5",
		SerialNumber: "urn:uuid:" + uuidFrom(sum),
		Version:      1,
		Metadata: Metadata{
			Timestamp: ts.UTC().Format(time.RFC3339),
			Tools: Tools{Components: []Component{{
				Type:    "application",
				Name:    "vigil-sbom",
				Version: mainVersion,
			}}},
			Component: app,
		},
		Components:   comps,
		Dependencies: deps,
	}
}

// purl returns the package URL of a Go module: pkg:golang/<path>@<version>,
// each path segment and the version percent-encoded.
func purl(path, version string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" {
		p += "@" + escape(version)
	}
	return p
}

// escape percent-encodes everything but the purl spec's unreserved
// characters.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// uuidFrom formats the first 16 bytes of a digest as a version-5-style
// UUID, so that one binary always gets the same serial number.
func uuidFrom(sum []byte) string {
	u := make([]byte, 16)
	copy(u, sum)
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
