package openapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/openapi"
)

// object is a decoded JSON object.
type object = map[string]any

// httpMethods are the keys of an OpenAPI path item that name operations.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// mustDecode decodes the embedded document, failing the test if it is not a
// JSON object.
func mustDecode(t *testing.T) object {
	t.Helper()
	var doc object
	if err := json.Unmarshal(openapi.JSON(), &doc); err != nil {
		t.Fatalf("decode document: %v", err)
	}
	return doc
}

// pointer resolves a local JSON reference such as
// "#/components/schemas/TimeSeriesPoint" inside doc.
func pointer(doc object, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("%q is not a local reference", ref)
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(object)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// mustResolve follows $ref links from v until it reaches an object that is
// not a reference.
func mustResolve(t *testing.T, doc object, v any) object {
	t.Helper()
	for range 10 {
		m, ok := v.(object)
		if !ok {
			t.Fatalf("got %T, want an object", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var err error
		if v, err = pointer(doc, ref); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("reference chain too long")
	return nil
}

// operations returns the document's operations keyed "METHOD PATH".
func operations(t *testing.T, doc object) map[string]object {
	t.Helper()
	paths, ok := doc["paths"].(object)
	if !ok {
		t.Fatal("document has no paths object")
	}
	ops := make(map[string]object)
	for path, item := range paths {
		for _, m := range httpMethods {
			if op, ok := item.(object)[m]; ok {
				ops[strings.ToUpper(m)+" "+path] = op.(object)
			}
		}
	}
	return ops
}

func TestJSON(t *testing.T) {
	raw := openapi.JSON()
	if !json.Valid(raw) {
		t.Fatal("document is not valid JSON")
	}
	doc := mustDecode(t)
	if got, want := doc["openapi"], "3.0.3"; got != want {
		t.Errorf("openapi = %v, want %q", got, want)
	}
	info, _ := doc["info"].(object)
	for _, k := range []string{"title", "version", "description"} {
		if s, _ := info[k].(string); s == "" {
			t.Errorf("info.%s is empty", k)
		}
	}

	// Each call gets its own copy.
	raw[0] = 'x'
	if got := openapi.JSON(); got[0] != '{' {
		t.Errorf("changing a returned slice changed the document: starts with %q", got[0])
	}
	if !bytes.Equal(openapi.JSON(), openapi.JSON()) {
		t.Error("two calls returned different documents")
	}
}

func TestRefsResolve(t *testing.T) {
	doc := mustDecode(t)
	var refs int
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case object:
			if ref, ok := v["$ref"]; ok {
				refs++
				s, ok := ref.(string)
				if !ok {
					t.Errorf("%s: $ref is %T, want a string", at, ref)
				} else if _, err := pointer(doc, s); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, x := range v {
				walk(at+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", at, i), x)
			}
		}
	}
	walk("#", doc)
	if refs == 0 {
		t.Error("found no $ref at all; the walk is broken")
	}
}

func TestOperations(t *testing.T) {
	doc := mustDecode(t)
	paths := doc["paths"].(object)
	param := regexp.MustCompile(`\{([^}]+)\}`)
	ids := make(map[string]string)
	for path, item := range paths {
		item := item.(object)
		var inTemplate []string
		for _, m := range param.FindAllStringSubmatch(path, -1) {
			inTemplate = append(inTemplate, m[1])
		}
		sort.Strings(inTemplate)
		var n int
		for _, m := range httpMethods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			n++
			op := raw.(object)
			at := strings.ToUpper(m) + " " + path

			id, _ := op["operationId"].(string)
			switch prev, dup := ids[id]; {
			case id == "":
				t.Errorf("%s: no operationId", at)
			case dup:
				t.Errorf("%s: operationId %q already used by %s", at, id, prev)
			default:
				ids[id] = at
			}

			responses, _ := op["responses"].(object)
			if len(responses) == 0 {
				t.Errorf("%s: no responses", at)
			}
			for status, r := range responses {
				r := mustResolve(t, doc, r)
				if d, _ := r["description"].(string); d == "" {
					t.Errorf("%s %s: response has no description", at, status)
				}
				headers, _ := r["headers"].(object)
				if _, ok := headers["X-Content-Type-Options"]; !ok {
					t.Errorf("%s %s: response does not declare X-Content-Type-Options", at, status)
				}
			}

			// The path parameters declared for the operation are exactly
			// those of the template, and all are required.
			var declared []string
			for _, list := range []any{item["parameters"], op["parameters"]} {
				list, _ := list.([]any)
				for _, p := range list {
					p := mustResolve(t, doc, p)
					if p["in"] != "path" {
						continue
					}
					declared = append(declared, p["name"].(string))
					if p["required"] != true {
						t.Errorf("%s: path parameter %v is not required", at, p["name"])
					}
				}
			}
			sort.Strings(declared)
			if !slices.Equal(declared, inTemplate) {
				t.Errorf("%s: path parameters declared %v, template has %v", at, declared, inTemplate)
			}
		}
		if n == 0 {
			t.Errorf("%s: no operations", path)
		}
	}
}

func TestRoutesMatchDocument(t *testing.T) {
	doc := mustDecode(t)
	inDoc := operations(t, doc)
	inTable := make(map[string]bool)
	for _, r := range openapi.Routes {
		key := r.Method + " " + r.Path
		if inTable[key] {
			t.Errorf("Routes lists %s twice", key)
		}
		inTable[key] = true
		if _, ok := inDoc[key]; !ok {
			t.Errorf("Routes has %s, the document does not", key)
		}
	}
	for key := range inDoc {
		if !inTable[key] {
			t.Errorf("the document has %s, Routes does not", key)
		}
	}
}

func TestMetricsOnlyInDescription(t *testing.T) {
	doc := mustDecode(t)
	for path := range doc["paths"].(object) {
		if strings.HasPrefix(path, "/metrics") {
			t.Errorf("paths has %s, but metrics are not served on the public listener", path)
		}
	}
	desc := doc["info"].(object)["description"].(string)
	for _, want := range []string{"GET /metrics", "--metrics-addr", "127.0.0.1:9090"} {
		if !strings.Contains(desc, want) {
			t.Errorf("info.description does not mention %q", want)
		}
	}
}

func TestAPIVersions(t *testing.T) {
	doc := mustDecode(t)
	p := mustResolve(t, doc, object{"$ref": "#/components/parameters/ApiVersion"})
	schema := mustResolve(t, doc, p["schema"])
	var got []string
	for _, v := range schema["enum"].([]any) {
		got = append(got, v.(string))
	}
	if !slices.Equal(got, openapi.APIVersions) {
		t.Errorf("apiVersion enum = %v, APIVersions = %v", got, openapi.APIVersions)
	}
}

// The kinds of operation, by the credential they need.
const (
	dataPlane  = "data plane" // an endpoint's key or token
	management = "management" // a management access token
	open       = "open"       // nothing
)

// kindOf classifies an operation by its path.
func kindOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/api/v1/"):
		return management
	case path == "/status", strings.HasPrefix(path, "/anomalydetector/"), strings.HasPrefix(path, "/endpoints/"):
		return dataPlane
	}
	return open
}

// dataPlaneSchemes are the security schemes that carry an endpoint's
// credential.
var dataPlaneSchemes = map[string]bool{"apiKeyHeader": true, "bearerAuth": true}

func TestSecurity(t *testing.T) {
	doc := mustDecode(t)
	schemes := doc["components"].(object)["securitySchemes"].(object)
	if k := schemes["apiKeyHeader"].(object); k["type"] != "apiKey" || k["in"] != "header" || k["name"] != "Ocp-Apim-Subscription-Key" {
		t.Errorf("apiKeyHeader = %v, want an apiKey in header Ocp-Apim-Subscription-Key", k)
	}
	if b := schemes["bearerAuth"].(object); b["type"] != "http" || b["scheme"] != "bearer" {
		t.Errorf("bearerAuth = %v, want http bearer", b)
	}
	m, _ := schemes["managementToken"].(object)
	if m["type"] != "http" || m["scheme"] != "bearer" {
		t.Errorf("managementToken = %v, want http bearer", m)
	}
	if d, _ := m["description"].(string); !strings.Contains(d, "admin-token") || !strings.Contains(d, "data directory") {
		t.Errorf("managementToken does not say the admin token is in the data directory's admin-token file, or the file VIGIL_ADMIN_TOKEN_FILE names: %q", d)
	}
	if len(schemes) != 3 {
		t.Errorf("%d security schemes, want apiKeyHeader, bearerAuth and managementToken", len(schemes))
	}

	// names returns the scheme names of a security requirement list,
	// checking that each is defined and takes no scopes.
	names := func(at string, list []any) []string {
		var out []string
		for _, req := range list {
			for name, scopes := range req.(object) {
				if _, ok := schemes[name]; !ok {
					t.Errorf("%s: security names undefined scheme %q", at, name)
				}
				if s, _ := scopes.([]any); len(s) != 0 {
					t.Errorf("%s: scheme %q has scopes %v", at, name, s)
				}
				out = append(out, name)
			}
		}
		return out
	}

	global, _ := doc["security"].([]any)
	if len(global) == 0 {
		t.Fatal("document has no global security requirement")
	}
	for _, name := range names("global", global) {
		if !dataPlaneSchemes[name] {
			t.Errorf("global security names %q; the default must be the data-plane credential", name)
		}
	}

	for key, op := range operations(t, doc) {
		path := strings.SplitN(key, " ", 2)[1]
		kind := kindOf(path)
		sec, set := op["security"].([]any)
		switch got := names(key, sec); kind {
		case management:
			if !slices.Equal(got, []string{"managementToken"}) || len(sec) != 1 {
				t.Errorf("%s: security = %v, want exactly managementToken", key, sec)
			}
		case dataPlane:
			if set && len(sec) == 0 {
				t.Errorf("%s: needs no credential, want a data-plane credential", key)
			}
			for _, name := range got {
				if !dataPlaneSchemes[name] {
					t.Errorf("%s: security names %q, want only data-plane schemes", key, name)
				}
			}
		case open:
			if !set || len(sec) != 0 {
				t.Errorf("%s: security = %v, want [] (no credential)", key, op["security"])
			}
		}
		responses := op["responses"].(object)
		if _, has401 := responses["401"]; has401 != (kind != open) {
			t.Errorf("%s: documents 401 = %v, want %v", key, has401, kind != open)
		}
		if _, has403 := responses["403"]; kind == management && !has403 {
			t.Errorf("%s: management operation does not document 403", key)
		}
	}
}

// responseSchemaRef returns the $ref of the JSON schema of a response, or
// "" when it has no JSON body.
func responseSchemaRef(t *testing.T, doc object, r any) string {
	t.Helper()
	content, _ := mustResolve(t, doc, r)["content"].(object)
	mt, _ := content["application/json"].(object)
	schema, _ := mt["schema"].(object)
	ref, _ := schema["$ref"].(string)
	return ref
}

// TestErrorResponses checks that each error response declares its code
// header and has the body shape of its API: the management API's wrapped
// {"error":{"code","message"}} under /api/v1, the Anomaly Detector's flat or
// front-door shapes elsewhere.
func TestErrorResponses(t *testing.T) {
	doc := mustDecode(t)
	const (
		flat       = "#/components/schemas/AnomalyDetectorError"
		validation = "#/components/schemas/AnomalyDetectorValidationError"
		gateway    = "#/components/schemas/GatewayError"
		mgmt       = "#/components/schemas/ManagementError"
	)
	for key, op := range operations(t, doc) {
		kind := kindOf(strings.SplitN(key, " ", 2)[1])
		for status, r := range op["responses"].(object) {
			if status < "400" {
				continue
			}
			at := key + " " + status
			headers, _ := mustResolve(t, doc, r)["headers"].(object)
			for _, h := range []string{"x-ms-error-code", "apim-request-id"} {
				if _, ok := headers[h]; !ok {
					t.Errorf("%s: does not declare %s", at, h)
				}
			}
			got := responseSchemaRef(t, doc, r)
			var want []string
			switch {
			case kind == management:
				want = []string{mgmt}
			case status == "401" || status == "429":
				want = []string{gateway}
			case status == "400":
				want = []string{validation}
			default:
				want = []string{flat}
			}
			if !slices.Contains(want, got) {
				t.Errorf("%s: body schema %q, want %v", at, got, want)
			}
		}
	}
}

// scoringOperations returns the operations that run a detection: the six
// Anomaly Detector operations and /score.
func scoringOperations(t *testing.T, doc object) map[string]object {
	t.Helper()
	out := make(map[string]object)
	for key, op := range operations(t, doc) {
		if strings.HasPrefix(key, "POST /anomalydetector/") || strings.HasPrefix(key, "POST /endpoints/") {
			out[key] = op
		}
	}
	if len(out) != 7 {
		t.Fatalf("found %d scoring operations, want 7 (six detect operations and /score)", len(out))
	}
	return out
}

// exampleCodes returns the error codes of a response's examples.
func exampleCodes(t *testing.T, doc object, r any) []string {
	t.Helper()
	content, _ := mustResolve(t, doc, r)["content"].(object)
	mt, _ := content["application/json"].(object)
	var vals []any
	if ex, ok := mt["example"]; ok {
		vals = append(vals, ex)
	}
	exs, _ := mt["examples"].(object)
	for _, ex := range exs {
		vals = append(vals, mustResolve(t, doc, ex)["value"])
	}
	var codes []string
	for _, v := range vals {
		if c, ok := v.(object)["code"].(string); ok {
			codes = append(codes, c)
		}
	}
	sort.Strings(codes)
	return codes
}

func TestScoringOperations(t *testing.T) {
	doc := mustDecode(t)
	for key, op := range scoringOperations(t, doc) {
		var pin object
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			if p := mustResolve(t, doc, p); p["in"] == "header" && p["name"] == "azureml-model-deployment" {
				pin = p
			}
		}
		if pin == nil {
			t.Errorf("%s: no azureml-model-deployment request header", key)
		} else if pin["required"] == true {
			t.Errorf("%s: azureml-model-deployment is required; it must be optional", key)
		}

		responses := op["responses"].(object)
		ok := mustResolve(t, doc, responses["200"])
		if _, has := ok["headers"].(object)["azureml-model-deployment"]; !has {
			t.Errorf("%s 200: no azureml-model-deployment response header", key)
		}
		for status, want := range map[string][]string{
			"403": {"PublicNetworkAccessDisabled"},
			"404": {"DeploymentNotFound", "NoDeployment", "NotFound"},
			"504": {"Timeout"},
		} {
			r, has := responses[status]
			if !has {
				t.Errorf("%s: does not document %s", key, status)
				continue
			}
			if got := exampleCodes(t, doc, r); !slices.Equal(got, want) {
				t.Errorf("%s %s: example codes %v, want %v", key, status, got, want)
			}
		}
		for _, status := range []string{"400", "401", "413", "415", "429", "500"} {
			if _, has := responses[status]; !has {
				t.Errorf("%s: does not document %s", key, status)
			}
		}
	}

	score := operations(t, doc)["POST /endpoints/{endpointName}/score"]
	if score == nil {
		t.Fatal("no POST /endpoints/{endpointName}/score")
	}
	body := score["requestBody"].(object)["content"].(object)["application/json"].(object)["schema"].(object)
	if got, want := body["$ref"], "#/components/schemas/UnivariateDetectionOptions"; got != want {
		t.Errorf("/score request schema = %v, want %s (the v1.1 entire-detect request)", got, want)
	}
	if got, want := responseSchemaRef(t, doc, score["responses"].(object)["200"]), "#/components/schemas/UnivariateEntireDetectionResult"; got != want {
		t.Errorf("/score answer schema = %v, want %s", got, want)
	}
	if sec, _ := score["security"].([]any); len(sec) == 0 || sec[0].(object)["bearerAuth"] == nil {
		t.Errorf("/score security = %v, want bearerAuth first", score["security"])
	}
}

func TestManagementOperations(t *testing.T) {
	doc := mustDecode(t)
	var n int
	for key, op := range operations(t, doc) {
		method, path, _ := strings.Cut(key, " ")
		if kindOf(path) != management {
			continue
		}
		n++
		responses := op["responses"].(object)
		var success []string
		for status := range responses {
			if status[0] == '2' {
				success = append(success, status)
			}
		}
		want := "200"
		switch {
		case method == "POST" && slices.Contains([]string{"/endpoints", "/deployments", "/roles", "/role-assignments", "/tokens"}, path[strings.LastIndex(path, "/"):]):
			want = "201"
		case method == "DELETE", strings.HasSuffix(path, "/regenerateKeys"):
			want = "204"
		}
		if !slices.Equal(success, []string{want}) {
			t.Errorf("%s: success statuses %v, want [%s]", key, success, want)
		}
		ok := mustResolve(t, doc, responses[want])
		if _, hasBody := ok["content"]; hasBody != (want != "204") {
			t.Errorf("%s %s: has a body = %v", key, want, hasBody)
		}

		wantErrors := []string{"401", "403", "429", "500"}
		if strings.Contains(path, "{") {
			wantErrors = append(wantErrors, "404")
		}
		if rb, has := op["requestBody"].(object); has {
			wantErrors = append(wantErrors, "400", "413", "415")
			schema := mustResolve(t, doc, rb["content"].(object)["application/json"].(object)["schema"])
			if schema["additionalProperties"] != false {
				t.Errorf("%s: request schema allows unknown fields; the server refuses them", key)
			}
		}
		for _, status := range wantErrors {
			if _, has := responses[status]; !has {
				t.Errorf("%s: does not document %s", key, status)
			}
		}
	}
	if n != 26 {
		t.Errorf("%d management operations, want the 26 of the management API", n)
	}
}

// TestPathParameterNames keeps the path parameters to the names the
// server's route test (TestServesExactlyTheDocumentedRoutes) fills in.
func TestPathParameterNames(t *testing.T) {
	allowed := []string{"apiVersion", "endpointName", "deploymentName", "assignmentId", "tokenName"}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for _, r := range openapi.Routes {
		for _, m := range param.FindAllStringSubmatch(r.Path, -1) {
			if !slices.Contains(allowed, m[1]) {
				t.Errorf("%s %s: path parameter {%s}, want one of %v", r.Method, r.Path, m[1], allowed)
			}
		}
	}
}

func TestRoutePattern(t *testing.T) {
	tests := []struct {
		name  string
		route openapi.Route
		want  string
	}{
		{"root matches only itself", openapi.Route{Method: "GET", Path: "/"}, "GET /{$}"},
		{"plain", openapi.Route{Method: "GET", Path: "/healthz"}, "GET /healthz"},
		{"wildcards kept", openapi.Route{Method: "POST", Path: "/endpoints/{endpointName}/anomalydetector/{apiVersion}/timeseries/last/detect"},
			"POST /endpoints/{endpointName}/anomalydetector/{apiVersion}/timeseries/last/detect"},
		{"management", openapi.Route{Method: "PATCH", Path: "/api/v1/endpoints/{endpointName}/deployments/{deploymentName}"},
			"PATCH /api/v1/endpoints/{endpointName}/deployments/{deploymentName}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.route.Pattern(); got != tt.want {
				t.Errorf("Pattern() = %q, want %q", got, tt.want)
			}
		})
	}

	// Every route registers on a ServeMux without a conflict or a syntax
	// error (both make Handle panic).
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("registering Routes: %v", r)
		}
	}()
	mux := http.NewServeMux()
	for _, r := range openapi.Routes {
		mux.Handle(r.Pattern(), http.NotFoundHandler())
	}
}

// TestExamples checks the examples against rules of the API that a JSON
// schema cannot state.
func TestExamples(t *testing.T) {
	doc := mustDecode(t)
	examples := doc["components"].(object)["examples"].(object)
	value := func(name string) object {
		t.Helper()
		ex, ok := examples[name].(object)
		if !ok {
			t.Fatalf("no example %q", name)
		}
		return ex["value"].(object)
	}

	for _, name := range []string{"DailySeriesRequest", "FiveMinuteStringValuesRequest", "ChangePointRequest"} {
		if n := len(value(name)["series"].([]any)); n < 12 || n > 8640 {
			t.Errorf("%s: %d points, want 12..8640", name, n)
		}
	}

	tests := []struct {
		result, request string
		severity        bool
	}{
		{"EntireResultV11", "DailySeriesRequest", true},
		{"EntireResultV10", "DailySeriesRequest", false},
		{"ChangePointResult", "ChangePointRequest", false},
	}
	for _, tt := range tests {
		t.Run(tt.result, func(t *testing.T) {
			res := value(tt.result)
			n := len(value(tt.request)["series"].([]any))
			for k, v := range res {
				if a, ok := v.([]any); ok && len(a) != n {
					t.Errorf("%s has %d elements, the request %d points", k, len(a), n)
				}
			}
			if _, ok := res["severity"]; ok != tt.severity {
				t.Errorf("has severity = %v, want %v", ok, tt.severity)
			}
			anomaly, _ := res["isAnomaly"].([]any)
			for i := range anomaly {
				pos := res["isPositiveAnomaly"].([]any)[i].(bool)
				neg := res["isNegativeAnomaly"].([]any)[i].(bool)
				if anomaly[i].(bool) != (pos || neg) {
					t.Errorf("point %d: isAnomaly is not isPositiveAnomaly OR isNegativeAnomaly", i)
				}
			}
		})
	}

	for name, severity := range map[string]bool{"LastResultV11": true, "LastResultV10": false} {
		res := value(name)
		period := int(res["period"].(float64))
		want := 4*period + 1
		if period == 0 {
			want = 13
		}
		if got := int(res["suggestedWindow"].(float64)); got != want {
			t.Errorf("%s: suggestedWindow = %d, want %d for period %d", name, got, want, period)
		}
		if _, ok := res["severity"]; ok != severity {
			t.Errorf("%s: has severity = %v, want %v", name, ok, severity)
		}
	}
}
