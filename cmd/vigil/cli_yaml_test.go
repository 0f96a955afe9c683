package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// loadSpec parses data as file, applies sets and loads it with fs.
func loadSpec(file, data string, fs fieldSet, sets ...string) (map[string]any, []string, error) {
	d, err := parseResourceYAML(file, []byte(data))
	if err != nil {
		return nil, nil, err
	}
	for _, s := range sets {
		if err := d.applySet(s); err != nil {
			return nil, nil, err
		}
	}
	return d.load(fs)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadAzureEndpointFile(t *testing.T) {
	data, err := os.ReadFile("testdata/azure/endpoint.yml")
	if err != nil {
		t.Fatal(err)
	}
	spec, warnings, err := loadSpec("testdata/azure/endpoint.yml", string(data), endpointFields)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"auth_mode":"key","description":"Anomaly detection on plant telemetry (migrated from Azure ML)","name":"plant-anomalies","public_network_access":"enabled","tags":{"cost-center":"4711","team":"reliability"}}`
	if got := mustJSON(t, spec); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if want := []string{"warning: identity is an Azure-only setting; Vigil ignores it"}; !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
}

func TestLoadAzureDeploymentFile(t *testing.T) {
	data, err := os.ReadFile("testdata/azure/deployment.yml")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = loadSpec("testdata/azure/deployment.yml", string(data), deploymentFields)
	if err == nil || !strings.Contains(err.Error(), `deployment.yml:5: model: "azureml:plant-anomaly-sr:3" is an Azure ML registry model`) || !strings.Contains(err.Error(), "--set model=builtin:anomaly-detector") {
		t.Fatalf("got %v, want the azureml model error with its fix", err)
	}
	spec, warnings, err := loadSpec("testdata/azure/deployment.yml", string(data), deploymentFields, "model=builtin:anomaly-detector")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"description":"Spectral-residual detector, model v3","egress_public_network_access":"enabled","endpoint_name":"plant-anomalies","environment_variables":{"LOG_LEVEL":"info","WORKER_COUNT":"4"},"instance_count":2,"liveness_probe":{"failure_threshold":30,"initial_delay":30,"period":10,"success_threshold":1,"timeout":2},"model":"builtin:anomaly-detector","name":"blue","readiness_probe":{"failure_threshold":3,"initial_delay":10,"period":10,"success_threshold":1,"timeout":10},"request_settings":{"max_concurrent_requests_per_instance":4,"request_timeout_ms":3000},"tags":{"stage":"prod"}}`
	if got := mustJSON(t, spec); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, key := range []string{"model_mount_path", "code_configuration", "environment", "instance_type", "app_insights_enabled", "scale_settings", "request_settings.max_queue_wait_ms", "data_collector"} {
		w := "warning: " + key + " is an Azure-only setting; Vigil ignores it"
		found := false
		for _, g := range warnings {
			found = found || g == w
		}
		if !found {
			t.Errorf("no warning %q in %q", w, warnings)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		fs   fieldSet
		yaml string
		sets []string
		want string
	}{
		{"traffic-not-int", endpointFields, "name: ep1\ntraffic:\n  blue: ninety\n", nil, "endpoint.yml:3: traffic.blue: must be an integer percent"},
		{"traffic-float", endpointFields, "name: ep1\ntraffic: {blue: 90.5}\n", nil, "endpoint.yml:2: traffic.blue: must be an integer percent"},
		{"traffic-range", endpointFields, "traffic: {blue: 120}\n", nil, "endpoint.yml:1: traffic.blue: must be a percent from 0 to 100, not 120"},
		{"traffic-not-map", endpointFields, "traffic: blue=100\n", nil, "endpoint.yml:1: traffic: must be a mapping of deployment names to percents"},
		{"auth-mode", endpointFields, "auth_mode: password\n", nil, `endpoint.yml:1: auth_mode: must be one of key, aml_token, aad_token, not "password"`},
		{"auth-mode-list", endpointFields, "auth_mode: [key]\n", nil, "endpoint.yml:1: auth_mode: must be one of key, aml_token, aad_token"},
		{"unknown-typo", endpointFields, "name: ep1\nauth_mod: key\n", nil, "endpoint.yml:2: auth_mod: unknown setting (did you mean auth_mode?)"},
		{"unknown", endpointFields, "frobnicate: 1\n", nil, "endpoint.yml:1: frobnicate: unknown setting; the settings are name, description, tags, auth_mode, public_network_access, traffic, mirror_traffic"},
		{"duplicate", endpointFields, "name: a\nname: b\n", nil, "endpoint.yml:2: name: the key appears twice"},
		{"tags-nested", endpointFields, "tags:\n  team: [a, b]\n", nil, "endpoint.yml:2: tags.team: must be a string"},
		{"name-map", endpointFields, "name: {a: 1}\n", nil, "endpoint.yml:1: name: must be a string"},
		{"not-a-mapping", endpointFields, "- name: a\n", nil, "endpoint.yml:1: the file must be a mapping of settings"},
		{"empty", endpointFields, "", nil, "endpoint.yml: the file is empty"},
		{"bad-yaml", endpointFields, "name: [\n", nil, "endpoint.yml: not valid YAML"},
		{"merge-key", endpointFields, "base: &b {auth_mode: key}\n<<: *b\n", nil, "endpoint.yml:1: base: unknown setting"},
		{"instance-count", deploymentFields, "instance_count: 0\n", nil, "deployment.yml:1: instance_count: must be from 1 to 20, not 0"},
		{"instance-count-type", deploymentFields, "instance_count: two\n", nil, "deployment.yml:1: instance_count: must be an integer"},
		{"timeout-range", deploymentFields, "request_settings:\n  request_timeout_ms: 200000\n", nil, "deployment.yml:2: request_settings.request_timeout_ms: must be from 1 to 180000, not 200000"},
		{"request-settings-unknown", deploymentFields, "request_settings:\n  timeout: 5\n", nil, "deployment.yml:2: request_settings.timeout: unknown setting; the settings are request_timeout_ms, max_concurrent_requests_per_instance"},
		{"request-settings-scalar", deploymentFields, "request_settings: 5\n", nil, "deployment.yml:1: request_settings: must be a mapping with the keys request_timeout_ms, max_concurrent_requests_per_instance"},
		{"probe-threshold", deploymentFields, "liveness_probe:\n  success_threshold: 0\n", nil, "deployment.yml:2: liveness_probe.success_threshold: must be from 1 to"},
		{"inline-model", deploymentFields, "model:\n  path: ./model\n", nil, "deployment.yml:2: model: an inline model (path: ...) cannot be served by Vigil; set model: builtin:anomaly-detector"},
		{"egress", deploymentFields, "egress_public_network_access: open\n", nil, `deployment.yml:1: egress_public_network_access: must be one of enabled, disabled, not "open"`},
		{"set-type", deploymentFields, "name: blue\n", []string{"instance_count=2.5"}, "--set instance_count: must be an integer"},
		{"set-nested-type", endpointFields, "name: ep\n", []string{"traffic.blue=all"}, "--set traffic.blue: must be an integer percent"},
		{"set-unknown", endpointFields, "name: ep\n", []string{"instance_type=Standard_DS3_v2"}, "--set instance_type: unknown setting"},
		{"set-no-equals", endpointFields, "name: ep\n", []string{"auth_mode"}, `--set "auth_mode": write key=value`},
		{"set-empty-part", endpointFields, "name: ep\n", []string{"tags..x=1"}, `--set "tags..x=1": the key "tags..x" has an empty part`},
		{"set-through-scalar", endpointFields, "name: ep\n", []string{"name.first=x"}, "--set name.first: name is not a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "endpoint.yml"
			if tt.fs.byKey["model"] != nil {
				file = "deployment.yml"
			}
			_, _, err := loadSpec(file, tt.yaml, tt.fs, tt.sets...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestLoadAccepts(t *testing.T) {
	tests := []struct {
		name string
		fs   fieldSet
		yaml string
		sets []string
		want string
	}{
		{"empty-values-are-unset", endpointFields, "name: ep\ndescription:\ntraffic:\n", nil, `{"name":"ep"}`},
		{"case-insensitive-enum", endpointFields, "auth_mode: AML_Token\n", nil, `{"auth_mode":"aml_token"}`},
		{"quoted-int", deploymentFields, "instance_count: \"3\"\n", nil, `{"instance_count":3}`},
		{"scalar-tags", endpointFields, "tags: {n: 1, b: true, e: }\n", nil, `{"tags":{"b":"true","e":"","n":"1"}}`},
		{"set-overrides", endpointFields, "name: ep\nauth_mode: key\n", []string{"auth_mode=aml_token", "tags.team=ops", "description="}, `{"auth_mode":"aml_token","description":"","name":"ep","tags":{"team":"ops"}}`},
		{"set-yaml-values", deploymentFields, "name: b\n", []string{"instance_count=2", "tags={a: x}", "liveness_probe.period=5"}, `{"instance_count":2,"liveness_probe":{"period":5},"name":"b","tags":{"a":"x"}}`},
		{"set-clears-with-empty-map", endpointFields, "traffic: {blue: 100}\n", []string{"traffic={}"}, `{"traffic":{}}`},
		{"alias", endpointFields, "tags: &t {team: ops}\ndescription: *t\n", nil, ""},
		{"schema-is-silent", endpointFields, "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\nname: ep\n", nil, `{"name":"ep"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, warnings, err := loadSpec("x.yml", tt.yaml, tt.fs, tt.sets...)
			if tt.want == "" { // only must not panic or hang
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := mustJSON(t, spec); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if len(warnings) > 0 {
				t.Errorf("unexpected warnings %q", warnings)
			}
		})
	}
}

func TestNoFileStartsEmpty(t *testing.T) {
	d, err := parseResourceYAML("", nil)
	if err != nil {
		t.Fatal(err)
	}
	d.setString("name", "ep", "--name")
	if err := d.applySet("auth_mode=bogus"); err != nil {
		t.Fatal(err)
	}
	_, _, err = d.load(endpointFields)
	if err == nil || err.Error() != `--set auth_mode: must be one of key, aml_token, aad_token, not "bogus"` {
		t.Errorf("got %v", err)
	}
}

func TestAliasBomb(t *testing.T) {
	y := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		y += n + ": &" + n + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = n
	}
	y += "tags: {x: *i}\n"
	_, _, err := loadSpec("bomb.yml", y, endpointFields)
	if err == nil {
		t.Fatal("an alias bomb loaded")
	}
}

func TestParseTraffic(t *testing.T) {
	tests := []struct {
		in   string
		want string // JSON, or "error: ..." for an error substring
	}{
		{"blue=90 green=10", `{"blue":90,"green":10}`},
		{"blue=90,green=10", `{"blue":90,"green":10}`},
		{"  blue=100  ", `{"blue":100}`},
		{"blue=90%  green=10%", `{"blue":90,"green":10}`},
		{"", `{}`},
		{"green=0", `{"green":0}`},
		{"blue", `error: --traffic: "blue" is not deployment=percent`},
		{"=10", `error: --traffic: "=10" is not deployment=percent`},
		{"blue=", "error: --traffic: blue=: the percent must be an integer from 0 to 100"},
		{"blue=101", "error: --traffic: blue=101: the percent must be an integer from 0 to 100"},
		{"blue=-1", "error: the percent must be an integer"},
		{"blue=1.5", "error: the percent must be an integer"},
		{"blue=50 blue=50", "error: --traffic: deployment blue appears twice"},
	}
	for _, tt := range tests {
		got, err := parseTraffic("--traffic", tt.in)
		if strings.HasPrefix(tt.want, "error: ") {
			if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tt.want, "error: ")) {
				t.Errorf("parseTraffic(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseTraffic(%q): %v", tt.in, err)
			continue
		}
		if s := mustJSON(t, got); s != tt.want {
			t.Errorf("parseTraffic(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
}

func TestDiffPatch(t *testing.T) {
	prev := map[string]any{"description": "a", "traffic": map[string]int{"blue": 100}, "tags": map[string]string{}}
	next := map[string]any{"description": "a", "traffic": map[string]int{"blue": 90, "green": 10}}
	got := mustJSON(t, diffPatch(prev, next, endpointMutable))
	if want := `{"traffic":{"blue":90,"green":10}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	next = map[string]any{"traffic": map[string]int{}}
	got = mustJSON(t, diffPatch(prev, next, endpointMutable))
	if want := `{"traffic":{}}`; got != want {
		t.Errorf("clearing: got %s, want %s", got, want)
	}
}

func FuzzParseTraffic(f *testing.F) {
	for _, s := range []string{"blue=90 green=10", "a=1,b=2", "", "x", "=", "a=100%", "a==1", "a=1 a=2", "\x00=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseTraffic("--traffic", s)
		if err != nil {
			if len(err.Error()) > 400 {
				t.Errorf("error too long: %d bytes", len(err.Error()))
			}
			return
		}
		for k, p := range m {
			if k == "" || p < 0 || p > 100 || strings.ContainsAny(k, " ,=\t\n") {
				t.Errorf("parseTraffic(%q) gave %q=%d", s, k, p)
			}
		}
		// What formatTraffic prints parses back to the same map.
		m2, err := parseTraffic("--traffic", formatTraffic(m))
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Errorf("round trip of %v: %v, %v", m, m2, err)
		}
	})
}

func FuzzLoadResource(f *testing.F) {
	for _, p := range []string{"testdata/azure/endpoint.yml", "testdata/azure/deployment.yml", "testdata/azure/green-deployment.yml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "model=builtin:anomaly-detector")
	}
	f.Add([]byte("traffic: {blue: 90, green: 10}\n"), "traffic.green=x")
	f.Add([]byte("a: &a [*a]\n"), "")
	f.Add([]byte("tags: {a: 1}\n"), "tags={b: [1]}")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		for _, fs := range []fieldSet{endpointFields, deploymentFields} {
			d, err := parseResourceYAML("f.yml", data)
			if err != nil {
				continue
			}
			if set != "" {
				if err := d.applySet(set); err != nil {
					continue
				}
			}
			spec, _, err := d.load(fs)
			if err != nil {
				continue
			}
			// Whatever loads converts to the API's types.
			if fs.byKey["model"] != nil {
				if _, err := deploymentFromSpec(spec); err != nil {
					t.Errorf("deploymentFromSpec: %v", err)
				}
			} else if _, err := endpointFromSpec(spec); err != nil {
				t.Errorf("endpointFromSpec: %v", err)
			}
		}
	})
}
