package openapi_test

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/audit"
	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/rbac"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/vigil"
)

// jsonFields returns the JSON names of t's fields and, of those, the ones
// always encoded (no omitempty). Embedded structs without a tag contribute
// their own fields, as encoding/json does.
func jsonFields(t reflect.Type) (all, always []string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			a, b := jsonFields(f.Type)
			all, always = append(all, a...), append(always, b...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") {
			always = append(always, name)
		}
	}
	sort.Strings(all)
	sort.Strings(always)
	return all, always
}

// schemaFields returns a component schema's property names and required
// names.
func schemaFields(t *testing.T, doc object, name string) (props, required []string) {
	t.Helper()
	s := mustResolve(t, doc, object{"$ref": "#/components/schemas/" + name})
	for p := range s["properties"].(object) {
		props = append(props, p)
	}
	req, _ := s["required"].([]any)
	for _, r := range req {
		required = append(required, r.(string))
	}
	sort.Strings(props)
	sort.Strings(required)
	return props, required
}

// TestManagementSchemasMatchGoTypes checks the management API's schemas
// against the Go types the server encodes and decodes: the same JSON field
// names, and for answers, every field the server always writes required.
func TestManagementSchemasMatchGoTypes(t *testing.T) {
	doc := mustDecode(t)
	type plus struct {
		typ   reflect.Type
		extra []string // fields the server adds (httpapi's endpointOut and deploymentOut)
	}
	endpoint := plus{reflect.TypeFor[vigil.Endpoint](), []string{"anomaly_detector_uri", "provisioning_state", "scoring_uri"}}
	deployment := plus{reflect.TypeFor[vigil.Deployment](), []string{"provisioning_state"}}
	answers := map[string]plus{
		"Endpoint":          endpoint,
		"Deployment":        deployment,
		"EndpointKeys":      {typ: reflect.TypeFor[control.EndpointKeys]()},
		"Token":             {typ: reflect.TypeFor[control.Token]()},
		"LogEntry":          {typ: reflect.TypeFor[score.LogEntry]()},
		"AuditEvent":        {typ: reflect.TypeFor[vigil.AuditEvent]()},
		"AuditVerification": {typ: reflect.TypeFor[control.Verification]()},
		"AuditProblem":      {typ: reflect.TypeFor[audit.Problem]()},
		"Role":              {typ: reflect.TypeFor[rbac.Role]()},
		"RoleAssignment":    {typ: reflect.TypeFor[rbac.Assignment]()},
		"NewAccessToken":    {typ: reflect.TypeFor[control.NewToken]()},
		"AccessTokenInfo":   {typ: reflect.TypeFor[control.TokenInfo]()},
	}
	// Request bodies, and the parts shared by requests and answers (in a
	// request their fields may be left out).
	// Azure ML's own keys are accepted (and ignored) in endpoint and
	// deployment bodies.
	azure := func(p plus, keys []string) plus {
		p.extra = append(append(slices.Clone(p.extra), "$schema"), keys...)
		return p
	}
	requests := map[string]plus{
		"RequestSettings":  {typ: reflect.TypeFor[vigil.RequestSettings](), extra: vigil.AzureOnlyRequestSettings},
		"EndpointCreate":   azure(endpoint, vigil.AzureOnlyEndpointFields),
		"EndpointPatch":    azure(plus{typ: reflect.TypeFor[control.EndpointPatch]()}, vigil.AzureOnlyEndpointFields),
		"DeploymentCreate": azure(deployment, vigil.AzureOnlyDeploymentFields),
		"DeploymentPatch":  azure(plus{typ: reflect.TypeFor[control.DeploymentPatch]()}, vigil.AzureOnlyDeploymentFields),
		"Probe":            {typ: reflect.TypeFor[vigil.Probe]()},
		"RoleCreate":       {typ: reflect.TypeFor[rbac.Role]()},
	}
	check := func(name string, p plus, answer bool) {
		all, always := jsonFields(p.typ)
		all = append(all, p.extra...)
		always = append(always, p.extra...)
		sort.Strings(all)
		sort.Strings(always)
		props, required := schemaFields(t, doc, name)
		if !slices.Equal(props, all) {
			t.Errorf("%s: properties %v, %s has %v", name, props, p.typ, all)
		}
		if answer && !slices.Equal(required, always) {
			t.Errorf("%s: required %v, the server always writes %v", name, required, always)
		}
	}
	for name, p := range answers {
		check(name, p, true)
	}
	for name, p := range requests {
		check(name, p, false)
	}

	// Bodies decoded into anonymous structs or written from maps in
	// internal/httpapi/mgmt.go.
	for name, want := range map[string][]string{
		"RegenerateKeysRequest": {"keyType", "keyValue"},
		"SigningKeyRotation":    {"kid"},
		"RoleAssignmentCreate":  {"principal", "role", "scope"},
		"AccessTokenCreate":     {"expires", "name"},
		"AdminTokenRotation":    {"token"},
		"RoleList":              {"value"},
		"RoleAssignmentList":    {"value"},
		"AccessTokenList":       {"value"},
		"EndpointList":          {"value"},
		"DeploymentList":        {"value"},
		"LogEntryList":          {"value"},
		"AuditEventList":        {"value"},
	} {
		if props, _ := schemaFields(t, doc, name); !slices.Equal(props, want) {
			t.Errorf("%s: properties %v, want %v", name, props, want)
		}
	}
}

// validate reports how v breaks schema: the subset of OpenAPI 3.0 schema
// keywords this document uses.
func validate(doc object, schema object, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		s, err := pointer(doc, ref)
		if err != nil {
			return []string{at + ": " + err.Error()}
		}
		return validate(doc, s.(object), v, at)
	}
	if v == nil {
		if schema["nullable"] == true {
			return nil
		}
		return []string{at + ": null is not allowed"}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if all, ok := schema["allOf"].([]any); ok {
		for _, s := range all {
			errs = append(errs, validate(doc, s.(object), v, at)...)
		}
	}
	if one, ok := schema["oneOf"].([]any); ok {
		n := 0
		for _, s := range one {
			if len(validate(doc, s.(object), v, at)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf, want 1", n)
		}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		fail("%v is not one of %v", v, enum)
	}
	num := func(k string) (float64, bool) { f, ok := schema[k].(float64); return f, ok }
	switch typ, _ := schema["type"].(string); typ {
	case "object":
		m, ok := v.(object)
		if !ok {
			fail("%T, want an object", v)
			break
		}
		props, _ := schema["properties"].(object)
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := m[r.(string)]; !ok {
				fail("required %q is missing", r)
			}
		}
		if max, ok := num("maxProperties"); ok && float64(len(m)) > max {
			fail("%d properties, at most %v", len(m), max)
		}
		for k, x := range m {
			if p, ok := props[k]; ok {
				errs = append(errs, validate(doc, p.(object), x, at+"."+k)...)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("unknown property %q", k)
				}
			case object:
				errs = append(errs, validate(doc, ap, x, at+"."+k)...)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			fail("%T, want an array", v)
			break
		}
		if min, ok := num("minItems"); ok && float64(len(a)) < min {
			fail("%d items, at least %v", len(a), min)
		}
		if max, ok := num("maxItems"); ok && float64(len(a)) > max {
			fail("%d items, at most %v", len(a), max)
		}
		for i, x := range a {
			errs = append(errs, validate(doc, schema["items"].(object), x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			fail("%T, want a string", v)
			break
		}
		if min, ok := num("minLength"); ok && float64(len(s)) < min {
			fail("%q is shorter than %v", s, min)
		}
		if max, ok := num("maxLength"); ok && float64(len(s)) > max {
			fail("%q is longer than %v", s, max)
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
			fail("%q does not match %s", s, p)
		}
		if schema["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				fail("%q is not a date-time", s)
			}
		}
	case "integer", "number":
		f, ok := v.(float64)
		if !ok {
			fail("%T, want a number", v)
			break
		}
		if typ == "integer" && f != math.Trunc(f) {
			fail("%v is not an integer", f)
		}
		if min, ok := num("minimum"); ok && (f < min || f == min && schema["exclusiveMinimum"] == true) {
			fail("%v is below the minimum %v", f, min)
		}
		if max, ok := num("maximum"); ok && (f > max || f == max && schema["exclusiveMaximum"] == true) {
			fail("%v is above the maximum %v", f, max)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("%T, want a boolean", v)
		}
	}
	return errs
}

// TestExamplesMatchSchemas validates every example in the document against
// its schema: the examples of component schemas, and those of every request
// and response body.
func TestExamplesMatchSchemas(t *testing.T) {
	doc := mustDecode(t)
	var n int
	check := func(at string, schema object, v any) {
		n++
		for _, e := range validate(doc, schema, v, at) {
			t.Error(e)
		}
	}
	for name, s := range doc["components"].(object)["schemas"].(object) {
		if ex, ok := s.(object)["example"]; ok {
			check("schemas."+name+".example", s.(object), ex)
		}
	}
	// mediaTypes checks the examples of a content object.
	mediaTypes := func(at string, content any) {
		c, _ := content.(object)
		for mt, m := range c {
			m := m.(object)
			schema, _ := m["schema"].(object)
			if schema == nil {
				continue
			}
			if ex, ok := m["example"]; ok {
				check(at+" "+mt+" example", schema, ex)
			}
			exs, _ := m["examples"].(object)
			for name, ex := range exs {
				check(at+" "+mt+" examples."+name, schema, mustResolve(t, doc, ex)["value"])
			}
		}
	}
	for key, op := range operations(t, doc) {
		if rb, ok := op["requestBody"]; ok {
			mediaTypes(key+" request", mustResolve(t, doc, rb)["content"])
		}
		for status, r := range op["responses"].(object) {
			mediaTypes(key+" "+status, mustResolve(t, doc, r)["content"])
		}
	}
	if n < 40 {
		t.Errorf("checked only %d examples; the walk is broken", n)
	}

	// The validator itself refuses what it should.
	ep := object{"$ref": "#/components/schemas/EndpointCreate"}
	for _, bad := range []object{
		{},                             // no name
		{"name": "1abc"},               // bad name
		{"name": "abc", "bogus": true}, // unknown field
		{"name": "abc", "traffic": object{"blue": 100.0}}, // traffic on create
		{"name": "abc", "auth_mode": "password"},
	} {
		if len(validate(doc, ep, bad, "EndpointCreate")) == 0 {
			t.Errorf("EndpointCreate accepts %v", bad)
		}
	}
}
