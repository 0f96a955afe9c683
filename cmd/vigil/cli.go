package main

// cli.go holds what the client commands (endpoint, deployment, signing-key)
// share: the connection flags, output rendering, error hints, the delete
// prompt, and the loader for Azure ML YAML files.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/vigilhq/vigil/internal/client"
	"github.com/vigilhq/vigil/internal/vigil"
	"go.yaml.in/yaml/v3"
)

// Defaults of the connection flags.
const (
	defaultServerURL = "http://127.0.0.1:5000"
	defaultDataDir   = "./vigil-data"
	adminTokenFile   = "admin-token"
)

// clientFlags are the connection and output flags every client command
// takes.
type clientFlags struct {
	url    string
	token  string
	data   string
	output string
	getenv func(string) string

	// tokenSource says where the token came from, for hints.
	tokenSource string
}

// addClientFlags registers the connection flags as persistent flags of a
// command group.
func addClientFlags(cmd *cobra.Command, getenv func(string) string) *clientFlags {
	cf := &clientFlags{getenv: getenv}
	f := cmd.PersistentFlags()
	f.StringVar(&cf.url, "url", "", `server URL (env VIGIL_URL; default "`+defaultServerURL+`")`)
	f.StringVar(&cf.token, "token", "", "admin API token (env VIGIL_TOKEN; default: the file admin-token in the data directory). Prefer the environment or the file: flags show in process listings")
	f.StringVar(&cf.data, "data", "", `data directory holding admin-token (env VIGIL_DATA; default "`+defaultDataDir+`")`)
	f.StringVarP(&cf.output, "output", "o", "table", "output format: table, json or yaml")
	return cf
}

// checkOutput reports an unknown output format.
func (cf *clientFlags) checkOutput() error {
	switch cf.output {
	case "table", "json", "yaml":
		return nil
	}
	return fmt.Errorf("-o %q: the output format must be table, json or yaml", cf.output)
}

// dataDir returns the data directory from --data, VIGIL_DATA or the default.
func (cf *clientFlags) dataDir() string {
	if cf.data != "" {
		return cf.data
	}
	if d := cf.getenv("VIGIL_DATA"); d != "" {
		return d
	}
	return defaultDataDir
}

// serverURL returns the server URL from --url, VIGIL_URL or the default.
func (cf *clientFlags) serverURL() string {
	if cf.url != "" {
		return cf.url
	}
	if u := cf.getenv("VIGIL_URL"); u != "" {
		return u
	}
	return defaultServerURL
}

// adminTokenPath returns the file the admin token is read from when neither
// --token nor VIGIL_TOKEN gives one: <data>/admin-token when --data is
// given, else the file VIGIL_ADMIN_TOKEN_FILE names (the server's own
// setting, so that the CLI run beside a server, as in its container or pod,
// finds the token), else <data>/admin-token with VIGIL_DATA or the default.
func (cf *clientFlags) adminTokenPath() string {
	if cf.data == "" {
		if f := cf.getenv("VIGIL_ADMIN_TOKEN_FILE"); f != "" {
			return f
		}
	}
	return filepath.Join(cf.dataDir(), adminTokenFile)
}

// client builds the API client: the server from --url/VIGIL_URL, the token
// from --token, VIGIL_TOKEN, VIGIL_ADMIN_TOKEN_FILE or <data>/admin-token.
func (cf *clientFlags) client(stderr io.Writer) (*client.Client, error) {
	if err := cf.checkOutput(); err != nil {
		return nil, err
	}
	token := cf.token
	cf.tokenSource = "--token"
	if token == "" {
		token, cf.tokenSource = cf.getenv("VIGIL_TOKEN"), "VIGIL_TOKEN"
	}
	if token == "" {
		path := cf.adminTokenPath()
		cf.tokenSource = path
		fi, err := os.Stat(path)
		if err != nil {
			return nil, &hintError{
				msg:  fmt.Sprintf("no admin token: %s cannot be read (%v)", path, errors.Unwrap(err)),
				hint: "give --token, set VIGIL_TOKEN or VIGIL_ADMIN_TOKEN_FILE, or point --data (VIGIL_DATA) at the server's data directory",
			}
		}
		// Group read is tolerated, as the server does for the files it
		// reads (Kubernetes mounts Secret files 0440 under an fsGroup).
		if fi.Mode().Perm()&0o037 != 0 {
			fmt.Fprintf(stderr, "warning: %s is open to other users (mode %04o); run chmod 600 %s\n", path, fi.Mode().Perm(), path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, &hintError{
				msg:  fmt.Sprintf("no admin token: %v", err),
				hint: "give --token, set VIGIL_TOKEN, or run as the user that owns the data directory",
			}
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("no admin token: %s is empty", path)
		}
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, fmt.Errorf("the token from %s holds a line break; give the token alone", cf.tokenSource)
	}
	c, err := client.New(cf.serverURL(), token)
	if err != nil {
		var e *vigil.Error
		if errors.As(err, &e) {
			return nil, &hintError{msg: "--url/VIGIL_URL: " + e.Message, err: err}
		}
		return nil, err
	}
	if u, _ := url.Parse(cf.serverURL()); u != nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		fmt.Fprintf(stderr, "warning: sending the admin token over plain HTTP to %s; use https:// unless TLS ends in front of the server on this host\n", u.Host)
	}
	return c, nil
}

// isLoopbackHost reports whether host names this machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hintError is an error message followed by a line saying what to do.
type hintError struct {
	msg  string
	hint string
	err  error
}

func (e *hintError) Error() string {
	if e.hint == "" {
		return e.msg
	}
	return e.msg + "\nhint: " + e.hint
}

func (e *hintError) Unwrap() error { return e.err }

// explain turns an API error into the message the user sees: the server's
// message and a hint for what to do; notFoundHint is the hint when the
// resource does not exist.
func (cf *clientFlags) explain(err error, notFoundHint string) error {
	var e *vigil.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := e.Message
	if e.APICode != "" {
		msg = e.APICode + ": " + msg
	}
	h := &hintError{msg: msg, err: err}
	switch e.Code {
	case vigil.EUnauthorized:
		h.msg = "the server did not accept the admin token (401 Unauthorized)"
		if !strings.HasPrefix(e.Message, "Access denied due to invalid subscription key") {
			h.msg += ": " + e.Message
		}
		h.hint = fmt.Sprintf("check --token, VIGIL_TOKEN or %s (this token came from %s)", filepath.Join(cf.dataDir(), adminTokenFile), cf.tokenSource)
	case vigil.EForbidden:
		h.hint = "this token's role does not allow the operation; use a token with more rights, such as the admin token"
	case vigil.ENotFound:
		h.hint = notFoundHint
	case vigil.EUnavailable:
		if strings.HasPrefix(e.Message, "cannot reach") || strings.HasPrefix(e.Message, "no answer") {
			h.hint = fmt.Sprintf("is the server running (vigil serve)? The client calls %s; set --url or VIGIL_URL", cf.serverURL())
		}
	case vigil.ERateLimited:
		h.hint = "wait a moment and retry"
	case vigil.EMethodNotAllowed:
		h.hint = "the server does not offer this operation; are the client and server the same version (vigil version)?"
	}
	return h
}

// render writes v in the chosen format: JSON or YAML of v, or the table
// that table() writes.
// listCmd completes cmd (its Use, Short and Long set) as a "list" verb:
// fetch the list with the client, then print it as a table, or as JSON or
// YAML (an empty list, never null).
func listCmd[T any](cf *clientFlags, cmd *cobra.Command, list func(*client.Client, context.Context) ([]T, error), table func([]T) func(*tabwriter.Writer)) *cobra.Command {
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := cf.client(cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		items, err := list(c, cmd.Context())
		if err != nil {
			return cf.explain(err, "")
		}
		if items == nil {
			items = []T{}
		}
		return render(cmd.OutOrStdout(), cf.output, items, table(items))
	}
	return cmd
}

func render(w io.Writer, format string, v any, table func(tw *tabwriter.Writer)) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		b, err := toYAML(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// toYAML renders v as YAML with the keys in its JSON order.
func toYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, err
	}
	var clear func(*yaml.Node)
	clear = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			clear(c)
		}
	}
	clear(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// row writes one tab-separated table row.
func row(tw io.Writer, cells ...any) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(tw, "\t")
		}
		s := fmt.Sprint(c)
		if s == "" {
			s = "-"
		}
		io.WriteString(tw, cellText(s))
	}
	io.WriteString(tw, "\n")
}

// cellText keeps server text from breaking the table or the terminal.
func cellText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return ' '
		}
		return r
	}, s)
}

// formatTraffic writes a traffic map as "blue=90 green=10", sorted by name.
func formatTraffic(m map[string]int) string {
	var parts []string
	for _, k := range vigil.SortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// parseTraffic reads a traffic flag: "name=percent" pairs separated by
// spaces or commas. The empty string is an empty map (no traffic).
func parseTraffic(flag, s string) (map[string]int, error) {
	m := map[string]int{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	for _, f := range fields {
		name, pct, ok := strings.Cut(f, "=")
		name, pct = strings.TrimSpace(name), strings.TrimSpace(pct)
		if !ok || name == "" {
			return nil, fmt.Errorf(`%s: %q is not deployment=percent; write for example %s "blue=90 green=10"`, flag, clipText(f), flag)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("%s: deployment %s appears twice", flag, clipText(name))
		}
		p, err := parsePercent(pct)
		if err != nil {
			return nil, fmt.Errorf("%s: %s=%s: %v", flag, clipText(name), clipText(pct), err)
		}
		m[name] = p
	}
	return m, nil
}

// parsePercent reads an integer percent 0-100; "90%" is accepted.
func parsePercent(s string) (int, error) {
	s = strings.TrimSuffix(s, "%")
	if s == "" || len(s) > 3 {
		return 0, errors.New("the percent must be an integer from 0 to 100")
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("the percent must be an integer from 0 to 100")
		}
		n = n*10 + int(c-'0')
	}
	if n > 100 {
		return 0, errors.New("the percent must be an integer from 0 to 100")
	}
	return n, nil
}

func clipText(s string) string {
	s = cellText(s)
	if len(s) > 60 {
		return strings.ToValidUTF8(s[:60], "") + "..."
	}
	return s
}

// confirmDelete asks the question on a terminal and reports whether the
// answer was yes. Without a terminal it refuses: it never waits for input
// nobody can give.
func confirmDelete(cmd *cobra.Command, question string) error {
	in := cmd.InOrStdin()
	f, ok := in.(*os.File)
	if !ok || !isTerminal(f) {
		return &hintError{msg: "refusing to delete without --yes (no terminal to ask)", hint: "add --yes to delete without a prompt"}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	line, _ := bufio.NewReader(io.LimitReader(in, 1024)).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not deleted")
}

// isTerminal reports whether f is a character device, as a terminal is,
// other than /dev/null (the stdin of cron jobs, services and "< /dev/null").
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

// readInput reads a file named by a flag, or standard input for "-".
func readInput(cmd *cobra.Command, flag, path string, limit int64) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", flag, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", flag, path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s %s: larger than %d bytes", flag, path, limit)
	}
	return b, nil
}

// notFoundEndpoint is the hint for an endpoint that does not exist.
const notFoundEndpoint = "vigil endpoint list shows the endpoints"

func notFoundDeployment(endpoint string) string {
	return fmt.Sprintf("vigil deployment list -e %s shows its deployments", endpoint)
}

// ---- Azure ML YAML ----

// fieldKind is the type of a resource field in a YAML file.
type fieldKind int

const (
	fString     fieldKind = iota // any scalar, as text
	fEnum                        // one of enum, case-insensitive
	fInt                         // an integer from min to max
	fStringMap                   // a mapping of names to scalars
	fPercentMap                  // a mapping of deployment names to percents
	fObject                      // a mapping with its own fields
	fModel                       // a model reference
	fAzureOnly                   // accepted with a warning, not sent
	fIgnore                      // accepted silently, not sent ($schema)
)

// field describes one key of a resource file.
type field struct {
	kind     fieldKind
	enum     []string
	min, max int
	fields   fieldSet
}

type fieldSet struct {
	names []string // in the order the docs list them
	byKey map[string]*field
}

func fields(kv ...any) fieldSet {
	fs := fieldSet{byKey: map[string]*field{}}
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		fs.names = append(fs.names, name)
		fs.byKey[name] = kv[i+1].(*field)
	}
	return fs
}

// withAzureOnly adds names as Azure-only keys: accepted with a warning and
// not sent (the server would drop them the same way).
func (fs fieldSet) withAzureOnly(names []string) fieldSet {
	for _, n := range names {
		fs.names = append(fs.names, n)
		fs.byKey[n] = azureOnly
	}
	return fs
}

func (fs fieldSet) settings() string {
	var names []string
	for _, n := range fs.names {
		if k := fs.byKey[n].kind; k != fAzureOnly && k != fIgnore {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

var (
	azureOnly = &field{kind: fAzureOnly}
	probe     = &field{kind: fObject, fields: fields(
		"initial_delay", &field{kind: fInt, min: 0, max: 1 << 30},
		"period", &field{kind: fInt, min: 0, max: 1 << 30},
		"timeout", &field{kind: fInt, min: 0, max: 1 << 30},
		"success_threshold", &field{kind: fInt, min: 1, max: 1 << 30},
		"failure_threshold", &field{kind: fInt, min: 1, max: 1 << 30},
	)}

	// endpointFields are the keys of an Azure ML managed online endpoint
	// file (managedOnlineEndpoint.schema.json).
	endpointFields = fields(
		"$schema", &field{kind: fIgnore},
		"name", &field{kind: fString},
		"description", &field{kind: fString},
		"tags", &field{kind: fStringMap},
		"auth_mode", &field{kind: fEnum, enum: []string{vigil.AuthKey, vigil.AuthAMLToken, vigil.AuthAADToken}},
		"public_network_access", &field{kind: fEnum, enum: []string{vigil.AccessEnabled, vigil.AccessDisabled}},
		"traffic", &field{kind: fPercentMap},
		"mirror_traffic", &field{kind: fPercentMap},
	).withAzureOnly(vigil.AzureOnlyEndpointFields)

	// deploymentFields are the keys of an Azure ML managed online
	// deployment file (managedOnlineDeployment.schema.json).
	deploymentFields = fields(
		"$schema", &field{kind: fIgnore},
		"name", &field{kind: fString},
		"endpoint_name", &field{kind: fString},
		"description", &field{kind: fString},
		"tags", &field{kind: fStringMap},
		"model", &field{kind: fModel},
		"instance_count", &field{kind: fInt, min: 1, max: vigil.MaxInstanceCount},
		"request_settings", &field{kind: fObject, fields: fields(
			"request_timeout_ms", &field{kind: fInt, min: 1, max: vigil.MaxRequestTimeoutMS},
			"max_concurrent_requests_per_instance", &field{kind: fInt, min: 1, max: vigil.MaxConcurrentPerInst},
		).withAzureOnly(vigil.AzureOnlyRequestSettings)},
		"egress_public_network_access", &field{kind: fEnum, enum: []string{vigil.AccessEnabled, vigil.AccessDisabled}},
		"environment_variables", &field{kind: fStringMap},
		"liveness_probe", probe,
		"readiness_probe", probe,
	).withAzureOnly(vigil.AzureOnlyDeploymentFields)
)

// maxYAMLBytes and maxYAMLNodes bound a resource file.
const (
	maxYAMLBytes = 1 << 20
	maxYAMLNodes = 20000
)

// resourceDoc is a resource file being loaded: the YAML tree, and where each
// node came from for error messages.
type resourceDoc struct {
	file   string // the file's base name, for messages
	root   *yaml.Node
	origin map[*yaml.Node]string // nodes not from the file: "--set", ...
}

// parseResourceYAML parses a resource file. An empty name means there is no
// file: the document starts empty.
func parseResourceYAML(file string, data []byte) (*resourceDoc, error) {
	d := &resourceDoc{file: filepath.Base(file), root: &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, origin: map[*yaml.Node]string{}}
	if file == "" {
		d.file = ""
		return d, nil
	}
	if len(data) > maxYAMLBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", d.file, maxYAMLBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %s", d.file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 || doc.Kind == yaml.DocumentNode && len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty", d.file)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the file must be a mapping of settings (name: ..., auth_mode: ...)", d.file, root.Line)
	}
	d.root = root
	return d, nil
}

// where says where a node came from: file:line, or its origin.
func (d *resourceDoc) where(n *yaml.Node) string {
	if o, ok := d.origin[n]; ok {
		return o
	}
	if d.file == "" {
		return "--set"
	}
	return fmt.Sprintf("%s:%d", d.file, n.Line)
}

// mark records origin for n and everything under it.
func (d *resourceDoc) mark(n *yaml.Node, origin string) {
	seen := 0
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if seen++; seen > maxYAMLNodes {
			return
		}
		d.origin[n] = origin
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
}

// lookup returns the value node of key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// put sets key in mapping m to v, replacing the old value, and returns the
// key's node.
func put(m *yaml.Node, key string, v *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return m.Content[i]
		}
	}
	k := strNode(key)
	m.Content = append(m.Content, k, v)
	return k
}

// strNode returns a string scalar.
func strNode(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// setString sets a top-level string field from a flag.
func (d *resourceDoc) setString(key, value, origin string) {
	n := strNode(value)
	d.origin[n] = origin
	k := put(d.root, key, n)
	if _, ok := d.origin[k]; !ok && k.Line == 0 {
		d.origin[k] = origin
	}
}

// overlay replaces d's top-level fields with those of o (a file laid over
// the server's copy of a resource).
func (d *resourceDoc) overlay(o *resourceDoc) {
	for i := 0; i+1 < len(o.root.Content); i += 2 {
		put(d.root, o.root.Content[i].Value, o.root.Content[i+1])
	}
	for n, w := range o.origin {
		d.origin[n] = w
	}
	if d.file == "" {
		d.file = o.file
	}
}

// applySet applies one --set path.to.key=value override; the value is read
// as YAML ("2" is a number, "{}" an empty mapping, "" an empty string).
func (d *resourceDoc) applySet(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return fmt.Errorf("--set %q: write key=value, for example --set instance_count=2", clipText(s))
	}
	path := strings.Split(key, ".")
	for _, p := range path {
		if p == "" {
			return fmt.Errorf("--set %q: the key %q has an empty part", clipText(s), clipText(key))
		}
	}
	origin := "--set " + clipText(key)
	var v *yaml.Node
	if strings.TrimSpace(value) == "" {
		v = strNode(value)
	} else {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(value), &doc); err != nil || len(doc.Content) == 0 {
			return fmt.Errorf("--set %s: the value %q is not a YAML value", clipText(key), clipText(value))
		}
		v = doc.Content[0]
	}
	d.mark(v, origin)
	m := d.root
	for i, p := range path[:len(path)-1] {
		next := resolveAlias(lookup(m, p))
		if next == nil || next.Kind == yaml.ScalarNode && next.Tag == "!!null" {
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			d.origin[next] = origin
			if k := put(m, p, next); k.Line == 0 {
				d.origin[k] = origin
			}
		} else if next.Kind != yaml.MappingNode {
			return fmt.Errorf("--set %s: %s is not a mapping", clipText(key), strings.Join(path[:i+1], "."))
		}
		m = next
	}
	if k := put(m, path[len(path)-1], v); k.Line == 0 {
		d.origin[k] = origin
	}
	return nil
}

// resolveAlias follows a YAML alias to its anchor.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// loader validates a resource document against its fields.
type loader struct {
	d        *resourceDoc
	warnings []string
	nodes    int
}

// load checks every key of the document and returns the Vigil settings in
// JSON-ready form (strings, ints, map[string]string, map[string]int,
// map[string]any) with the warnings for the Azure-only keys it ignored.
// flagValue is a flag's value laid over one key of a resource file.
type flagValue struct{ key, value, flag string }

// resolve lays the non-empty flag values and then the --set overrides over
// d, loads it against fs, and prints the warnings (Azure-only keys) to
// cmd's standard error.
func (d *resourceDoc) resolve(cmd *cobra.Command, fs fieldSet, flags []flagValue, sets []string) (map[string]any, error) {
	for _, f := range flags {
		if f.value != "" {
			d.setString(f.key, f.value, f.flag)
		}
	}
	for _, s := range sets {
		if err := d.applySet(s); err != nil {
			return nil, err
		}
	}
	spec, warnings, err := d.load(fs)
	if err != nil {
		return nil, err
	}
	printWarnings(cmd.ErrOrStderr(), warnings)
	return spec, nil
}

func (d *resourceDoc) load(fs fieldSet) (map[string]any, []string, error) {
	l := &loader{d: d}
	out, err := l.object(d.root, "", fs)
	if err != nil {
		return nil, nil, err
	}
	return out, l.warnings, nil
}

func (l *loader) errorf(n *yaml.Node, path, format string, args ...any) error {
	w := l.d.where(n)
	if w == "--set "+path {
		return fmt.Errorf("%s: %s", w, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%s: %s: %s", w, path, fmt.Sprintf(format, args...))
}

func (l *loader) object(m *yaml.Node, prefix string, fs fieldSet) (map[string]any, error) {
	out := map[string]any{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if l.nodes += 2; l.nodes > maxYAMLNodes {
			return nil, fmt.Errorf("%s: too many YAML nodes (aliases?); write the settings out plainly", l.d.where(m))
		}
		k, v := m.Content[i], resolveAlias(m.Content[i+1])
		path := prefix + k.Value
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			return nil, l.errorf(k, prefix+"<key>", "keys must be plain names (YAML merge keys << are not supported)")
		}
		if seen[k.Value] {
			return nil, l.errorf(k, path, "the key appears twice")
		}
		seen[k.Value] = true
		f := fs.byKey[k.Value]
		if f == nil {
			msg := "unknown setting; the settings are " + fs.settings()
			if s := closest(k.Value, fs.names); s != "" {
				msg = fmt.Sprintf("unknown setting (did you mean %s?)", s)
			}
			return nil, l.errorf(k, clipText(path), "%s", msg)
		}
		if v == nil {
			continue
		}
		switch f.kind {
		case fIgnore:
			continue
		case fAzureOnly:
			l.warnings = append(l.warnings, fmt.Sprintf("warning: %s is an Azure-only setting; Vigil ignores it", path))
			continue
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			continue // "key:" with no value means unset
		}
		val, err := l.value(v, path, f)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	return out, nil
}

func (l *loader) value(v *yaml.Node, path string, f *field) (any, error) {
	switch f.kind {
	case fString:
		if v.Kind != yaml.ScalarNode {
			return nil, l.errorf(v, path, "must be a string")
		}
		return v.Value, nil
	case fEnum:
		if v.Kind != yaml.ScalarNode {
			return nil, l.errorf(v, path, "must be one of %s", strings.Join(f.enum, ", "))
		}
		for _, e := range f.enum {
			if strings.EqualFold(v.Value, e) {
				return e, nil
			}
		}
		return nil, l.errorf(v, path, "must be one of %s, not %q", strings.Join(f.enum, ", "), clipText(v.Value))
	case fInt:
		n, ok := intValue(v)
		if !ok {
			return nil, l.errorf(v, path, "must be an integer")
		}
		if n < f.min || n > f.max {
			return nil, l.errorf(v, path, "must be from %d to %d, not %d", f.min, f.max, n)
		}
		return n, nil
	case fStringMap:
		if v.Kind != yaml.MappingNode {
			return nil, l.errorf(v, path, "must be a mapping of names to values")
		}
		m := map[string]string{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, e := v.Content[i], resolveAlias(v.Content[i+1])
			if k.Kind != yaml.ScalarNode || k.Value == "" {
				return nil, l.errorf(k, path, "names must be non-empty strings")
			}
			if _, dup := m[k.Value]; dup {
				return nil, l.errorf(k, path+"."+clipText(k.Value), "the key appears twice")
			}
			if e == nil || e.Kind != yaml.ScalarNode {
				return nil, l.errorf(k, path+"."+clipText(k.Value), "must be a string")
			}
			if e.Tag == "!!null" {
				m[k.Value] = ""
			} else {
				m[k.Value] = e.Value
			}
		}
		return m, nil
	case fPercentMap:
		if v.Kind != yaml.MappingNode {
			return nil, l.errorf(v, path, "must be a mapping of deployment names to percents, for example {blue: 90, green: 10}")
		}
		m := map[string]int{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, e := v.Content[i], resolveAlias(v.Content[i+1])
			if k.Kind != yaml.ScalarNode || k.Value == "" {
				return nil, l.errorf(k, path, "deployment names must be non-empty strings")
			}
			if _, dup := m[k.Value]; dup {
				return nil, l.errorf(k, path+"."+clipText(k.Value), "the key appears twice")
			}
			n, ok := intValue(e)
			if !ok {
				return nil, l.errorf(e, path+"."+clipText(k.Value), "must be an integer percent")
			}
			if n < 0 || n > 100 {
				return nil, l.errorf(e, path+"."+clipText(k.Value), "must be a percent from 0 to 100, not %d", n)
			}
			m[k.Value] = n
		}
		return m, nil
	case fObject:
		if v.Kind != yaml.MappingNode {
			return nil, l.errorf(v, path, "must be a mapping with the keys %s", f.fields.settings())
		}
		return l.object(v, path+".", f.fields)
	case fModel:
		if v.Kind == yaml.MappingNode {
			return nil, l.errorf(v, path, "an inline model (path: ...) cannot be served by Vigil; set model: %s, the built-in detector that replaces it", vigil.BuiltinAnomalyDetector)
		}
		if v.Kind != yaml.ScalarNode {
			return nil, l.errorf(v, path, "must be a model reference such as %s", vigil.BuiltinAnomalyDetector)
		}
		if strings.HasPrefix(strings.ToLower(v.Value), "azureml:") {
			return nil, l.errorf(v, path, "%q is an Azure ML registry model, which Vigil cannot load; set model: %s in the file, or add --set model=%s", clipText(v.Value), vigil.BuiltinAnomalyDetector, vigil.BuiltinAnomalyDetector)
		}
		return v.Value, nil
	}
	return nil, l.errorf(v, path, "unsupported setting")
}

// intValue reads an integer scalar; 5 and "5" are integers, 5.5 and "five"
// are not.
func intValue(n *yaml.Node) (int, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" && n.Tag != "!!str" {
		return 0, false
	}
	var i int
	if n.Tag == "!!str" {
		s := strings.TrimSpace(n.Value)
		if s == "" || len(s) > 10 {
			return 0, false
		}
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			i = i*10 + int(c-'0')
		}
		if s == "" {
			return 0, false
		}
		if neg {
			i = -i
		}
		return i, true
	}
	var i64 int64
	if err := n.Decode(&i64); err != nil || i64 < -1<<31 || i64 > 1<<31-1 {
		return 0, false
	}
	return int(i64), true
}

// closest returns the name within edit distance 2 of s, if one is.
func closest(s string, names []string) string {
	if len(s) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// docFromJSON turns the server's copy of a resource into a document, keeping
// only the given keys.
func docFromJSON(v any, keys []string, origin string) (*resourceDoc, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(j, &all); err != nil {
		return nil, err
	}
	kept := map[string]json.RawMessage{}
	for _, k := range keys {
		if r, ok := all[k]; ok {
			kept[k] = r
		}
	}
	j, _ = json.Marshal(kept)
	var doc yaml.Node
	if err := yaml.Unmarshal(j, &doc); err != nil {
		return nil, err
	}
	d := &resourceDoc{root: doc.Content[0], origin: map[*yaml.Node]string{}}
	d.mark(d.root, origin)
	return d, nil
}

// loadFile reads and parses a resource file given with -f ("" for none).
func loadFile(cmd *cobra.Command, path string) (*resourceDoc, error) {
	if path == "" {
		return parseResourceYAML("", nil)
	}
	data, err := readInput(cmd, "-f", path, maxYAMLBytes)
	if err != nil {
		return nil, err
	}
	name := path
	if path == "-" {
		name = "<stdin>"
	}
	return parseResourceYAML(name, data)
}

// printWarnings writes the loader's warnings to stderr.
func printWarnings(w io.Writer, warnings []string) {
	for _, s := range warnings {
		fmt.Fprintln(w, s)
	}
}

// emptyish reports whether v is missing or an empty map.
func emptyish(v any) bool {
	switch m := v.(type) {
	case nil:
		return true
	case map[string]int:
		return len(m) == 0
	case map[string]string:
		return len(m) == 0
	case map[string]any:
		return len(m) == 0
	}
	return false
}

// diffPatch returns the keys of next that differ from prev.
func diffPatch(prev, next map[string]any, keys []string) map[string]any {
	patch := map[string]any{}
	for _, k := range keys {
		a, b := prev[k], next[k]
		if emptyish(a) && emptyish(b) {
			continue
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			if b == nil {
				continue // a field the file leaves out keeps its value
			}
			patch[k] = b
		}
	}
	return patch
}
