package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The golden tests run the client commands against a fake server that
// answers canned JSON in the shapes of docs/management-api.md, and compare
// what the CLI sent and printed with testdata/cli/<case>.golden. Rewrite the
// files with: go test ./cmd/vigil -run TestCLIGolden -update

const cliAdminToken = "adm_test-token-0123456789"

// cliReply is a canned answer.
type cliReply struct {
	status int
	body   string
	header map[string]string
}

// cliEndpoint and the other canned resources follow the contract's shapes.
const (
	cliEndpointPlant   = `{"name":"plant-anomalies","description":"Anomaly detection on plant telemetry","tags":{"team":"reliability"},"auth_mode":"key","public_network_access":"enabled","traffic":{"blue":90,"green":10},"mirror_traffic":{},"scoring_uri":"http://127.0.0.1:5000/endpoints/plant-anomalies/score","anomaly_detector_uri":"http://127.0.0.1:5000/endpoints/plant-anomalies","provisioning_state":"Succeeded","created_at":"2026-11-22T06:00:00Z","updated_at":"2026-11-22T06:10:00Z"}`
	cliEndpointBatch   = `{"name":"batch-scoring","description":"","tags":{},"auth_mode":"aml_token","public_network_access":"disabled","traffic":{"canary":0,"main":100},"mirror_traffic":{"canary":20},"scoring_uri":"http://127.0.0.1:5000/endpoints/batch-scoring/score","anomaly_detector_uri":"http://127.0.0.1:5000/endpoints/batch-scoring","provisioning_state":"Succeeded","created_at":"2026-11-22T06:01:00Z","updated_at":"2026-11-22T06:01:00Z"}`
	cliEndpointDefault = `{"name":"default","description":"The built-in endpoint","tags":{},"auth_mode":"key","public_network_access":"enabled","traffic":{"default":100},"mirror_traffic":{},"scoring_uri":"http://127.0.0.1:5000/endpoints/default/score","anomaly_detector_uri":"http://127.0.0.1:5000/endpoints/default","provisioning_state":"Succeeded","created_at":"2026-11-22T05:00:00Z","updated_at":"2026-11-22T05:00:00Z"}`
	cliEndpointEmpty   = `{"name":"fresh-endpoint","description":"","tags":{},"auth_mode":"key","public_network_access":"enabled","traffic":{},"mirror_traffic":{},"scoring_uri":"http://127.0.0.1:5000/endpoints/fresh-endpoint/score","anomaly_detector_uri":"http://127.0.0.1:5000/endpoints/fresh-endpoint","provisioning_state":"Succeeded","created_at":"2026-11-22T06:20:00Z","updated_at":"2026-11-22T06:20:00Z"}`
	cliDeploymentBlue  = `{"name":"blue","endpoint_name":"plant-anomalies","description":"","model":"builtin:anomaly-detector","instance_count":2,"request_settings":{"request_timeout_ms":3000,"max_concurrent_requests_per_instance":4},"egress_public_network_access":"enabled","environment_variables":{"LOG_LEVEL":"info"},"liveness_probe":{"initial_delay":10,"period":10,"timeout":2,"success_threshold":1,"failure_threshold":30},"readiness_probe":{"initial_delay":10,"period":10,"timeout":2,"success_threshold":1,"failure_threshold":30},"tags":{},"provisioning_state":"Succeeded","created_at":"2026-11-22T06:02:00Z","updated_at":"2026-11-22T06:02:00Z"}`
	cliDeploymentGreen = `{"name":"green","endpoint_name":"plant-anomalies","description":"candidate","model":"builtin:anomaly-detector","instance_count":1,"request_settings":{"request_timeout_ms":5000,"max_concurrent_requests_per_instance":1},"egress_public_network_access":"disabled","environment_variables":{},"liveness_probe":{"initial_delay":10,"period":10,"timeout":2,"success_threshold":1,"failure_threshold":30},"readiness_probe":{"initial_delay":10,"period":10,"timeout":5,"success_threshold":1,"failure_threshold":30},"tags":{"stage":"canary"},"provisioning_state":"Succeeded","created_at":"2026-11-22T06:03:00Z","updated_at":"2026-11-22T06:03:00Z"}`
	cliLogs            = `{"value":[` +
		`{"time":"2026-11-22T06:30:00.125Z","request_id":"r1","route":"score","status":200,"latency_ms":1.24,"caller":"key:primary","deployment":"blue","mirrored":false},` +
		`{"time":"2026-11-22T06:30:01.5Z","request_id":"r2","route":"detect","status":400,"latency_ms":0.31,"caller":"key:secondary","deployment":"blue","mirrored":false},` +
		`{"time":"2026-11-22T06:30:02Z","request_id":"r3","route":"score","status":200,"latency_ms":2.5,"caller":"aml_token","deployment":"blue","mirrored":true}]}`
	cliScoreAnswer = `{"period":0,"expectedValues":[10,10.5,11],"upperMargins":[1,1,1],"lowerMargins":[1,1,1],"isAnomaly":[false,false,true],"isNegativeAnomaly":[false,false,false],"isPositiveAnomaly":[false,false,true],"severity":[0,0,0.8]}`
)

// cliRoutes are the fake server's default answers.
func cliRoutes() map[string]cliReply {
	ok := func(body string) cliReply { return cliReply{status: 200, body: body} }
	return map[string]cliReply{
		"GET /api/v1/endpoints":                                        ok(`{"value":[` + cliEndpointBatch + `,` + cliEndpointDefault + `,` + cliEndpointPlant + `]}`),
		"GET /api/v1/endpoints/plant-anomalies":                        ok(cliEndpointPlant),
		"GET /api/v1/endpoints/batch-scoring":                          ok(cliEndpointBatch),
		"GET /api/v1/endpoints/default":                                ok(cliEndpointDefault),
		"POST /api/v1/endpoints":                                       {status: 201, body: cliEndpointEmpty},
		"PATCH /api/v1/endpoints/plant-anomalies":                      ok(cliEndpointPlant),
		"PATCH /api/v1/endpoints/batch-scoring":                        ok(cliEndpointBatch),
		"DELETE /api/v1/endpoints/plant-anomalies":                     {status: 204},
		"DELETE /api/v1/endpoints/default":                             {status: 409, body: `{"error":{"code":"Conflict","message":"the built-in endpoint default cannot be deleted"}}`},
		"POST /api/v1/endpoints/plant-anomalies/listKeys":              ok(`{"primaryKey":"pk_primary-0123456789abcdef","secondaryKey":"pk_secondary-0123456789abcdef"}`),
		"POST /api/v1/endpoints/plant-anomalies/regenerateKeys":        {status: 204},
		"POST /api/v1/endpoints/batch-scoring/token":                   ok(`{"accessToken":"tok_0123456789abcdef","tokenType":"Bearer","expiryTimeUtc":"2026-11-22T07:00:00Z","refreshAfterTimeUtc":"2026-11-22T06:30:00Z"}`),
		"POST /api/v1/signing-keys/rotate":                             ok(`{"kid":"sk-20261122-2"}`),
		"GET /api/v1/endpoints/plant-anomalies/deployments":            ok(`{"value":[` + cliDeploymentBlue + `,` + cliDeploymentGreen + `]}`),
		"GET /api/v1/endpoints/plant-anomalies/deployments/blue":       ok(cliDeploymentBlue),
		"GET /api/v1/endpoints/plant-anomalies/deployments/green":      ok(cliDeploymentGreen),
		"POST /api/v1/endpoints/plant-anomalies/deployments":           {status: 201, body: cliDeploymentBlue},
		"PATCH /api/v1/endpoints/plant-anomalies/deployments/blue":     ok(cliDeploymentBlue),
		"DELETE /api/v1/endpoints/plant-anomalies/deployments/green":   {status: 204},
		"DELETE /api/v1/endpoints/plant-anomalies/deployments/blue":    {status: 409, body: `{"error":{"code":"Conflict","message":"deployment blue takes 90 % of live traffic; move it first"}}`},
		"GET /api/v1/endpoints/plant-anomalies/deployments/blue/logs":  ok(cliLogs),
		"GET /api/v1/endpoints/plant-anomalies/deployments/green/logs": ok(`{"value":[]}`),
		"POST /endpoints/plant-anomalies/score":                        {status: 200, body: cliScoreAnswer, header: map[string]string{"azureml-model-deployment": "blue"}},
		"POST /endpoints/batch-scoring/score":                          {status: 200, body: cliScoreAnswer, header: map[string]string{"azureml-model-deployment": "main"}},
	}
}

// cliFake is the fake server; it records every request.
type cliFake struct {
	srv    *httptest.Server
	routes map[string]cliReply
	mu     sync.Mutex
	log    []string
}

func newCLIFake(t *testing.T, overrides map[string]cliReply) *cliFake {
	t.Helper()
	f := &cliFake{routes: cliRoutes()}
	for k, v := range overrides {
		f.routes[k] = v
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *cliFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	line := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		line += "?" + r.URL.RawQuery
	}
	switch a := r.Header.Get("Authorization"); a {
	case "":
		line += " [no auth]"
	case "Bearer " + cliAdminToken:
		line += " [admin token]"
	default:
		line += " [" + a + "]"
	}
	if pin := r.Header.Get("azureml-model-deployment"); pin != "" {
		line += " [azureml-model-deployment: " + pin + "]"
	}
	if len(body) > 0 {
		line += "\n    " + string(body)
	}
	f.mu.Lock()
	f.log = append(f.log, line)
	f.mu.Unlock()
	reply, ok := f.routes[r.Method+" "+r.URL.Path]
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		fmt.Fprintf(w, `{"error":{"code":"NotFound","message":"no route %s %s in the fake"}}`, r.Method, r.URL.Path)
		return
	}
	for k, v := range reply.header {
		w.Header().Set(k, v)
	}
	if reply.body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(reply.status)
	io.WriteString(w, reply.body)
}

// runCLI runs the command line against the fake with the given extra
// environment and returns its transcript.
func runCLI(t *testing.T, f *cliFake, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	base := map[string]string{"VIGIL_URL": f.srv.URL, "VIGIL_TOKEN": cliAdminToken, "VIGIL_DATA": "/nonexistent"}
	for k, v := range env {
		base[k] = v
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr, func(k string) string { return base[k] })
	clean := func(s string) string { return strings.ReplaceAll(s, f.srv.URL, "http://vigil.test") }
	return code, clean(stdout.String()), clean(stderr.String())
}

type cliCase struct {
	name   string
	args   []string
	stdin  string
	env    map[string]string
	routes map[string]cliReply
}

func TestCLIGolden(t *testing.T) {
	badRequest := func(msg string) cliReply {
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "BadRequest", "message": msg}})
		return cliReply{status: 400, body: string(b)}
	}
	tests := []cliCase{
		// help is part of the interface
		{name: "endpoint-help", args: []string{"endpoint", "--help"}},
		{name: "endpoint-update-help", args: []string{"endpoint", "update", "--help"}},
		{name: "deployment-create-help", args: []string{"deployment", "create", "--help"}},

		// endpoint list / show in every format
		{name: "endpoint-list.table", args: []string{"endpoint", "list"}},
		{name: "endpoint-list.json", args: []string{"endpoint", "list", "-o", "json"}},
		{name: "endpoint-list.yaml", args: []string{"endpoint", "list", "-o", "yaml"}},
		{name: "endpoint-list-empty.table", args: []string{"endpoint", "list"}, routes: map[string]cliReply{"GET /api/v1/endpoints": {status: 200, body: `{"value":[]}`}}},
		{name: "endpoint-list-empty.json", args: []string{"endpoint", "list", "-o", "json"}, routes: map[string]cliReply{"GET /api/v1/endpoints": {status: 200, body: `{"value":[]}`}}},
		{name: "endpoint-show.table", args: []string{"endpoint", "show", "-n", "batch-scoring"}},
		{name: "endpoint-show.json", args: []string{"endpoint", "show", "-n", "plant-anomalies", "-o", "json"}},
		{name: "endpoint-show.yaml", args: []string{"endpoint", "show", "-n", "plant-anomalies", "-o", "yaml"}},
		{name: "endpoint-show-not-found", args: []string{"endpoint", "show", "-n", "nope"}},
		{name: "endpoint-show-unauthorized", args: []string{"endpoint", "show", "-n", "plant-anomalies"},
			routes: map[string]cliReply{"GET /api/v1/endpoints/plant-anomalies": {status: 401, body: `{"error":{"code":"Unauthorized","message":"missing or wrong admin token"}}`}}},
		{name: "endpoint-show-forbidden", args: []string{"endpoint", "show", "-n", "plant-anomalies"},
			routes: map[string]cliReply{"GET /api/v1/endpoints/plant-anomalies": {status: 403, body: `{"error":{"code":"Forbidden","message":"role reader may not read endpoint plant-anomalies"}}`}}},
		{name: "endpoint-show-internal", args: []string{"endpoint", "show", "-n", "plant-anomalies"},
			routes: map[string]cliReply{"GET /api/v1/endpoints/plant-anomalies": {status: 500, body: `{"error":{"code":"InternalServerError","message":"An internal error occurred; quote request id 7f3a to the operator."}}`}}},
		{name: "endpoint-show-missing-name", args: []string{"endpoint", "show"}},
		{name: "output-unknown", args: []string{"endpoint", "list", "-o", "xml"}},

		// endpoint create
		{name: "endpoint-create-flags", args: []string{"endpoint", "create", "-n", "fresh-endpoint", "--auth-mode", "aml_token", "-o", "json"}},
		{name: "endpoint-create-azure-file", args: []string{"endpoint", "create", "-f", "testdata/azure/endpoint.yml"}},
		{name: "endpoint-create-file-overrides", args: []string{"endpoint", "create", "-f", "testdata/azure/endpoint.yml", "-n", "plant-anomalies-2", "--set", "auth_mode=aml_token", "--set", "tags.owner=ana", "--set", "description=copy"}},
		{name: "endpoint-create-stdin", args: []string{"endpoint", "create", "-f", "-"}, stdin: "name: fresh-endpoint\npublic_network_access: disabled\n"},
		{name: "endpoint-create-conflict", args: []string{"endpoint", "create", "-n", "plant-anomalies"},
			routes: map[string]cliReply{"POST /api/v1/endpoints": {status: 409, body: `{"error":{"code":"Conflict","message":"endpoint plant-anomalies exists"}}`}}},
		{name: "endpoint-create-traffic", args: []string{"endpoint", "create", "-n", "fresh-endpoint", "--set", "traffic.blue=100"}},
		{name: "endpoint-create-no-name", args: []string{"endpoint", "create"}},
		{name: "endpoint-create-bad-auth-mode", args: []string{"endpoint", "create", "-n", "x-endpoint", "--auth-mode", "password"}},
		{name: "endpoint-create-server-rejects", args: []string{"endpoint", "create", "-n", "1bad"},
			routes: map[string]cliReply{"POST /api/v1/endpoints": badRequest(`endpoint name "1bad" must start with a letter and hold only letters, digits and single dashes`)}},

		// endpoint update
		{name: "endpoint-update-traffic", args: []string{"endpoint", "update", "-n", "plant-anomalies", "--traffic", "blue=100 green=0", "--mirror-traffic", "green=10"}},
		{name: "endpoint-update-clear-mirror", args: []string{"endpoint", "update", "-n", "batch-scoring", "--mirror-traffic", ""}},
		{name: "endpoint-update-mirror-zero", args: []string{"endpoint", "update", "-n", "batch-scoring", "--mirror-traffic", "canary=0", "-o", "json"},
			routes: map[string]cliReply{"PATCH /api/v1/endpoints/batch-scoring": {status: 200, body: cliEndpointBatch}}},
		{name: "endpoint-update-clear-traffic", args: []string{"endpoint", "update", "-n", "plant-anomalies", "--traffic", ""}},
		{name: "endpoint-update-set-tag", args: []string{"endpoint", "update", "-n", "plant-anomalies", "--set", "tags.owner=ana", "--set", "auth_mode=aml_token"}},
		{name: "endpoint-update-file", args: []string{"endpoint", "update", "-f", "testdata/azure/endpoint.yml"}},
		{name: "endpoint-update-nothing", args: []string{"endpoint", "update", "-n", "plant-anomalies", "--traffic", "green=10,blue=90"}},
		{name: "endpoint-update-bad-traffic", args: []string{"endpoint", "update", "-n", "plant-anomalies", "--traffic", "blue=ninety"}},
		{name: "endpoint-update-server-rejects", args: []string{"endpoint", "update", "-n", "plant-anomalies", "--traffic", "blue=50 green=10"},
			routes: map[string]cliReply{"PATCH /api/v1/endpoints/plant-anomalies": badRequest("traffic percents sum to 60; they must sum to 0 or 100")}},
		{name: "endpoint-update-no-changes", args: []string{"endpoint", "update", "-n", "plant-anomalies"}},
		{name: "deployment-update-no-changes", args: []string{"deployment", "update", "-e", "plant-anomalies", "-n", "blue"}},
		{name: "endpoint-update-no-name", args: []string{"endpoint", "update", "--traffic", "blue=100"}},

		// endpoint delete
		{name: "endpoint-delete-yes", args: []string{"endpoint", "delete", "-n", "plant-anomalies", "--yes"}},
		{name: "endpoint-delete-no-terminal", args: []string{"endpoint", "delete", "-n", "plant-anomalies"}, stdin: "y\n"},
		{name: "endpoint-delete-default", args: []string{"endpoint", "delete", "-n", "default", "--yes"}},

		// credentials
		{name: "endpoint-get-credentials-key.json", args: []string{"endpoint", "get-credentials", "-n", "plant-anomalies", "-o", "json"}},
		{name: "endpoint-get-credentials-key.table", args: []string{"endpoint", "get-credentials", "-n", "plant-anomalies"}},
		{name: "endpoint-get-credentials-key.yaml", args: []string{"endpoint", "get-credentials", "-n", "plant-anomalies", "-o", "yaml"}},
		{name: "endpoint-get-credentials-token.json", args: []string{"endpoint", "get-credentials", "-n", "batch-scoring", "-o", "json"}},
		{name: "endpoint-get-credentials-token.table", args: []string{"endpoint", "get-credentials", "-n", "batch-scoring"}},
		{name: "endpoint-get-credentials-aad", args: []string{"endpoint", "get-credentials", "-n", "plant-anomalies"},
			routes: map[string]cliReply{"GET /api/v1/endpoints/plant-anomalies": {status: 200, body: strings.Replace(cliEndpointPlant, `"auth_mode":"key"`, `"auth_mode":"aad_token"`, 1)}}},
		{name: "endpoint-regenerate-keys", args: []string{"endpoint", "regenerate-keys", "-n", "plant-anomalies", "--key-type", "secondary"}},
		{name: "endpoint-regenerate-keys-value", args: []string{"endpoint", "regenerate-keys", "-n", "plant-anomalies", "--key-type", "primary", "--key-value", "-"}, stdin: "my-own-key-0123456789\n"},
		{name: "endpoint-regenerate-keys-short-value", args: []string{"endpoint", "regenerate-keys", "-n", "plant-anomalies", "--key-type", "primary", "--key-value", "short"}},
		{name: "endpoint-regenerate-keys-bad-type", args: []string{"endpoint", "regenerate-keys", "-n", "plant-anomalies", "--key-type", "tertiary"}},
		{name: "endpoint-regenerate-keys-token-endpoint", args: []string{"endpoint", "regenerate-keys", "-n", "batch-scoring", "--key-type", "primary"},
			routes: map[string]cliReply{"POST /api/v1/endpoints/batch-scoring/regenerateKeys": badRequest("endpoint batch-scoring uses auth_mode aml_token; it has no keys")}},
		{name: "signing-key-rotate.table", args: []string{"signing-key", "rotate"}},
		{name: "signing-key-rotate.json", args: []string{"signing-key", "rotate", "-o", "json"}},

		// invoke
		{name: "endpoint-invoke-key", args: []string{"endpoint", "invoke", "-n", "plant-anomalies", "--request-file", "-"}, stdin: `{"series":[{"timestamp":"2026-11-22T00:00:00Z","value":10}],"granularity":"daily"}`},
		{name: "endpoint-invoke-pinned", args: []string{"endpoint", "invoke", "-n", "plant-anomalies", "--request-file", "-", "--deployment-name", "green", "-o", "yaml"}, stdin: `{"series":[]}`,
			routes: map[string]cliReply{"POST /endpoints/plant-anomalies/score": {status: 200, body: `{"isAnomaly":[]}`, header: map[string]string{"azureml-model-deployment": "green"}}}},
		{name: "endpoint-invoke-token", args: []string{"endpoint", "invoke", "-n", "batch-scoring", "--request-file", "-"}, stdin: `{"series":[]}`},
		{name: "endpoint-invoke-no-deployment", args: []string{"endpoint", "invoke", "-n", "plant-anomalies", "--request-file", "-"}, stdin: `{"series":[]}`,
			routes: map[string]cliReply{"POST /endpoints/plant-anomalies/score": {status: 404, body: `{"code":"NoDeployment","message":"endpoint plant-anomalies has no traffic and the request pins no deployment"}`}}},
		{name: "endpoint-invoke-bad-request", args: []string{"endpoint", "invoke", "-n", "plant-anomalies", "--request-file", "-"}, stdin: `{"series":[]}`,
			routes: map[string]cliReply{"POST /endpoints/plant-anomalies/score": {status: 400, body: `{"code":"InvalidSeries","message":"The series must hold at least 12 points."}`, header: map[string]string{"azureml-model-deployment": "blue"}}}},
		{name: "endpoint-invoke-not-json", args: []string{"endpoint", "invoke", "-n", "plant-anomalies", "--request-file", "-"}, stdin: `series: []`},
		{name: "endpoint-invoke-no-file", args: []string{"endpoint", "invoke", "-n", "plant-anomalies"}},

		// deployments
		{name: "deployment-list.table", args: []string{"deployment", "list", "-e", "plant-anomalies"}},
		{name: "deployment-list.json", args: []string{"deployment", "list", "-e", "plant-anomalies", "-o", "json"}},
		{name: "deployment-list.yaml", args: []string{"deployment", "list", "-e", "plant-anomalies", "-o", "yaml"}},
		{name: "deployment-list-mirror.table", args: []string{"deployment", "list", "-e", "plant-anomalies"},
			routes: map[string]cliReply{"GET /api/v1/endpoints/plant-anomalies": {status: 200, body: strings.Replace(strings.Replace(cliEndpointPlant, `"green":10}`, `"green":0}`, 1), `"blue":90`, `"blue":100`, 1)}}},
		{name: "deployment-show.table", args: []string{"deployment", "show", "-e", "plant-anomalies", "-n", "green"}},
		{name: "deployment-show.json", args: []string{"deployment", "show", "-e", "plant-anomalies", "-n", "green", "-o", "json"}},
		{name: "deployment-show.yaml", args: []string{"deployment", "show", "-e", "plant-anomalies", "-n", "green", "-o", "yaml"}},
		{name: "deployment-show-not-found", args: []string{"deployment", "show", "-e", "plant-anomalies", "-n", "red"}},
		{name: "deployment-show-missing-endpoint", args: []string{"deployment", "show", "-n", "blue"}},
		{name: "deployment-create-flags", args: []string{"deployment", "create", "-e", "plant-anomalies", "-n", "blue", "--all-traffic"}},
		{name: "deployment-create-azure-model", args: []string{"deployment", "create", "-f", "testdata/azure/deployment.yml"}},
		{name: "deployment-create-azure-set-model", args: []string{"deployment", "create", "-f", "testdata/azure/deployment.yml", "--set", "model=builtin:anomaly-detector", "--all-traffic", "-o", "json"}},
		{name: "deployment-create-green-file", args: []string{"deployment", "create", "-f", "testdata/azure/green-deployment.yml", "--set", "instance_count=3"},
			routes: map[string]cliReply{"POST /api/v1/endpoints/plant-anomalies/deployments": {status: 201, body: cliDeploymentGreen}}},
		{name: "deployment-create-bad-set", args: []string{"deployment", "create", "-e", "plant-anomalies", "-n", "blue", "--set", "instance_count=two"}},
		{name: "deployment-create-no-endpoint", args: []string{"deployment", "create", "-n", "blue"}},
		{name: "deployment-create-no-endpoint-on-server", args: []string{"deployment", "create", "-e", "plant-anomalies", "-n", "blue"},
			routes: map[string]cliReply{"POST /api/v1/endpoints/plant-anomalies/deployments": {status: 404, body: `{"error":{"code":"NotFound","message":"no endpoint plant-anomalies"}}`}}},
		{name: "deployment-update-set", args: []string{"deployment", "update", "-e", "plant-anomalies", "-n", "blue", "--set", "instance_count=3", "--set", "request_settings.request_timeout_ms=9000", "--set", "environment_variables.WORKERS=8"}},
		{name: "deployment-update-file", args: []string{"deployment", "update", "-f", "testdata/azure/deployment.yml", "--set", "model=builtin:anomaly-detector", "-o", "json"}},
		{name: "deployment-update-model", args: []string{"deployment", "update", "-e", "plant-anomalies", "-n", "blue", "--set", "model=builtin:forecaster"}},
		{name: "deployment-update-nothing", args: []string{"deployment", "update", "-e", "plant-anomalies", "-n", "blue", "--set", "instance_count=2"}},
		{name: "deployment-delete-yes", args: []string{"deployment", "delete", "-e", "plant-anomalies", "-n", "green", "--yes"}},
		{name: "deployment-delete-live-traffic", args: []string{"deployment", "delete", "-e", "plant-anomalies", "-n", "blue", "-y"}},
		{name: "deployment-delete-no-terminal", args: []string{"deployment", "delete", "-e", "plant-anomalies", "-n", "green"}},
		{name: "deployment-get-logs.table", args: []string{"deployment", "get-logs", "-e", "plant-anomalies", "-n", "blue", "--lines", "3"}},
		{name: "deployment-get-logs.json", args: []string{"deployment", "get-logs", "-e", "plant-anomalies", "-n", "blue", "-o", "json"}},
		{name: "deployment-get-logs.yaml", args: []string{"deployment", "get-logs", "-e", "plant-anomalies", "-n", "blue", "-o", "yaml"}},
		{name: "deployment-get-logs-empty", args: []string{"deployment", "get-logs", "-e", "plant-anomalies", "-n", "green"}},
		{name: "deployment-get-logs-bad-lines", args: []string{"deployment", "get-logs", "-e", "plant-anomalies", "-n", "blue", "--lines", "-1"}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		if seen[tt.name] {
			t.Fatalf("duplicate case %s", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			f := newCLIFake(t, tt.routes)
			code, stdout, stderr := runCLI(t, f, tt.env, tt.stdin, tt.args...)
			if strings.Contains(stdout+stderr, cliAdminToken) {
				t.Errorf("the output shows the admin token:\n%s%s", stdout, stderr)
			}
			got := transcript(tt.args, f.log, stdout, stderr, code)
			checkGolden(t, filepath.Join("testdata", "cli", tt.name+".golden"), got)
		})
	}
}

// transcript is a golden file's text: the command, the requests the fake
// saw, the output and the exit code.
func transcript(args []string, requests []string, stdout, stderr string, code int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ vigil %s\n", quoteArgs(args))
	b.WriteString("-- requests --\n")
	for _, r := range requests {
		b.WriteString(r + "\n")
	}
	b.WriteString("-- stdout --\n" + stdout)
	b.WriteString("-- stderr --\n" + stderr)
	fmt.Fprintf(&b, "-- exit %d --\n", code)
	return b.String()
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = fmt.Sprintf("%q", a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (rerun with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestCLIGoldenFilesAreUsed fails on golden files no case writes.
func TestCLIGoldenFilesAreUsed(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "cli", "*.golden"))
	src, err := os.ReadFile("cli_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var stale []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".golden")
		if !bytes.Contains(src, []byte(`name: "`+name+`"`)) {
			stale = append(stale, f)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("golden files without a case: %v", stale)
	}
}

func TestCLITokenSources(t *testing.T) {
	f := newCLIFake(t, nil)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(cliAdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantAuth string // what the fake saw
		wantErr  string
	}{
		{"ok/data-file", map[string]string{"VIGIL_TOKEN": "", "VIGIL_DATA": dir}, nil, "[admin token]", ""},
		{"ok/data-flag", map[string]string{"VIGIL_TOKEN": ""}, []string{"--data", dir}, "[admin token]", ""},
		{"ok/env-beats-file", map[string]string{"VIGIL_TOKEN": "from-env", "VIGIL_DATA": dir}, nil, "[Bearer from-env]", ""},
		{"ok/flag-beats-env", map[string]string{"VIGIL_TOKEN": "from-env"}, []string{"--token", "from-flag"}, "[Bearer from-flag]", ""},
		{"fail/no-file", map[string]string{"VIGIL_TOKEN": "", "VIGIL_DATA": filepath.Join(dir, "nope")}, nil, "", "no admin token: " + filepath.Join(dir, "nope", "admin-token") + " cannot be read"},
		{"fail/bad-url", map[string]string{"VIGIL_URL": "127.0.0.1:5000"}, nil, "", "must be http://host:port"},
		{"fail/url-with-credentials", nil, []string{"--url", "http://admin:hunter2@127.0.0.1:5000"}, "", "must not hold credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.log = nil
			code, _, stderr := runCLI(t, f, tt.env, "", append([]string{"endpoint", "list"}, tt.args...)...)
			if tt.wantErr != "" {
				if code != 1 || !strings.Contains(stderr, tt.wantErr) {
					t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tt.wantErr)
				}
				if strings.Contains(stderr, "hunter2") {
					t.Errorf("the error shows the password: %q", stderr)
				}
				return
			}
			if code != 0 || len(f.log) != 1 || !strings.Contains(f.log[0], tt.wantAuth) {
				t.Errorf("exit %d, stderr %q, requests %q; want %s", code, stderr, f.log, tt.wantAuth)
			}
		})
	}

	// A token file others can read works, with a warning.
	if err := os.Chmod(tokenFile, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, f, map[string]string{"VIGIL_TOKEN": "", "VIGIL_DATA": dir}, "", "endpoint", "list")
	if code != 0 || !strings.Contains(stderr, "is open to other users (mode 0644); run chmod 600") {
		t.Errorf("exit %d, stderr %q; want a chmod warning", code, stderr)
	}
}

func TestCLIPlainHTTPWarning(t *testing.T) {
	f := newCLIFake(t, nil)
	// The fake listens on loopback: no warning.
	_, _, stderr := runCLI(t, f, nil, "", "endpoint", "list")
	if strings.Contains(stderr, "plain HTTP") {
		t.Errorf("warned for loopback: %q", stderr)
	}
	// A remote http:// URL warns before the (failing) request.
	_, _, stderr = runCLI(t, f, nil, "", "endpoint", "list", "--url", "http://0.0.0.0:1")
	if !strings.Contains(stderr, "warning: sending the admin token over plain HTTP to 0.0.0.0:1") {
		t.Errorf("no plain-HTTP warning: %q", stderr)
	}
}

func TestIsTerminal(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Errorf("%s counts as a terminal", os.DevNull)
	}
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file counts as a terminal")
	}
}
