package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/rbac"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/vigil"
)

// Control is the management API's use cases (*control.Service satisfies
// it).
type Control interface {
	VerifyAccessToken(ctx context.Context, token string) (string, error)

	CreateEndpoint(ctx context.Context, e vigil.Endpoint) (vigil.Endpoint, error)
	GetEndpoint(ctx context.Context, name string) (vigil.Endpoint, error)
	ListEndpoints(ctx context.Context) ([]vigil.Endpoint, error)
	UpdateEndpoint(ctx context.Context, name string, p control.EndpointPatch) (vigil.Endpoint, error)
	DeleteEndpoint(ctx context.Context, name string) error
	ListKeys(ctx context.Context, name string) (control.EndpointKeys, error)
	RegenerateKey(ctx context.Context, name string, slot vigil.KeySlot, value string) error
	IssueToken(ctx context.Context, name string) (control.Token, error)
	RotateSigningKey(ctx context.Context) (string, error)

	CreateDeployment(ctx context.Context, d vigil.Deployment, allTraffic bool) (vigil.Deployment, error)
	GetDeployment(ctx context.Context, endpoint, name string) (vigil.Deployment, error)
	ListDeployments(ctx context.Context, endpoint string) ([]vigil.Deployment, error)
	UpdateDeployment(ctx context.Context, endpoint, name string, p control.DeploymentPatch) (vigil.Deployment, error)
	DeleteDeployment(ctx context.Context, endpoint, name string) error
}

// AuditLog lists and verifies the audit log (*control.AuditService
// satisfies it).
type AuditLog interface {
	List(ctx context.Context, f vigil.AuditFilter) ([]vigil.AuditEvent, error)
	Verify(ctx context.Context) (control.Verification, error)
}

// AuditQueue takes audit events from request paths without blocking
// (*audit.Log satisfies it).
type AuditQueue interface {
	Async(ev vigil.AuditEvent)
}

func (s *Server) auditAsync(ev vigil.AuditEvent) {
	if s.AuditQueue != nil {
		s.AuditQueue.Async(ev)
	}
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := vigil.AuditFilter{Principal: q.Get("principal"), Action: q.Get("action"), Limit: 1000}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			d, derr := time.ParseDuration(v)
			if derr != nil || d <= 0 {
				return vigil.Errorf(vigil.EInvalid, "since must be an RFC 3339 time (2026-11-22T06:00:00Z) or a duration (1h)")
			}
			t = time.Now().Add(-d)
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return vigil.Errorf(vigil.EInvalid, "limit must be a whole number from 1 to 100000")
		}
		f.Limit = n
	}
	evs, err := s.AuditLog.List(r.Context(), f)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []vigil.AuditEvent{}
	}
	return writeValue(w, http.StatusOK, map[string]any{"value": evs})
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	v, err := s.AuditLog.Verify(r.Context())
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, v)
}

// DeploymentLogs reads a deployment's request log (*score.Plane satisfies
// it).
type DeploymentLogs interface {
	Deployment(endpoint, name string) *score.Deployment
}

// Access authorizes management calls and manages roles, assignments and
// access tokens (*control.Access satisfies it).
type Access interface {
	Authorize(ctx context.Context, action, resource string) error
	CreateRole(ctx context.Context, r rbac.Role) (rbac.Role, error)
	ListRoles(ctx context.Context) ([]rbac.Role, error)
	CreateAssignment(ctx context.Context, a rbac.Assignment) (rbac.Assignment, error)
	ListAssignments(ctx context.Context) ([]rbac.Assignment, error)
	DeleteAssignment(ctx context.Context, id string) error
	CreateAccessToken(ctx context.Context, name string, lifetime time.Duration) (control.NewToken, error)
	ListAccessTokens(ctx context.Context) ([]control.TokenInfo, error)
	RevokeAccessToken(ctx context.Context, name string) error
	RotateAdminToken(ctx context.Context, path string) (string, error)
}

// scopeFunc names the resource a call acts on.
type scopeFunc func(r *http.Request) string

func root(*http.Request) string { return "/" }

func endpointRes(r *http.Request) string { return "/endpoints/" + r.PathValue("name") }

func deploymentRes(r *http.Request) string {
	return "/endpoints/" + r.PathValue("name") + "/deployments/" + r.PathValue("dep")
}

// mgmtRoutes registers /api/v1 on mux. Every route names the action it
// needs and the resource it acts on; mgmtAuth checks both before the
// handler runs.
func (s *Server) mgmtRoutes(mux *http.ServeMux) {
	route := func(pattern, name, action string, scope scopeFunc, h handlerFunc) {
		mux.Handle(pattern, s.observeWith(name, s.mgmtAuth(action, scope, h), writeMgmtError))
	}
	route("GET /api/v1/endpoints", "api.endpoints.list", rbac.EndpointsRead, root, s.listEndpoints)
	route("POST /api/v1/endpoints", "api.endpoints.create", rbac.EndpointsWrite, root, s.createEndpoint)
	route("GET /api/v1/endpoints/{name}", "api.endpoints.get", rbac.EndpointsRead, endpointRes, s.getEndpoint)
	route("PATCH /api/v1/endpoints/{name}", "api.endpoints.update", rbac.EndpointsWrite, endpointRes, s.updateEndpoint)
	route("DELETE /api/v1/endpoints/{name}", "api.endpoints.delete", rbac.EndpointsDelete, endpointRes, s.deleteEndpoint)
	route("POST /api/v1/endpoints/{name}/listKeys", "api.endpoints.listKeys", rbac.EndpointsListKeys, endpointRes, s.listKeys)
	route("POST /api/v1/endpoints/{name}/regenerateKeys", "api.endpoints.regenerateKeys", rbac.EndpointsRegenerateKeys, endpointRes, s.regenerateKeys)
	route("POST /api/v1/endpoints/{name}/token", "api.endpoints.token", rbac.EndpointsToken, endpointRes, s.token)
	route("POST /api/v1/signing-keys/rotate", "api.signingKeys.rotate", rbac.SigningKeysRotate, root, s.rotateSigningKey)
	route("GET /api/v1/endpoints/{name}/deployments", "api.deployments.list", rbac.DeploymentsRead, endpointRes, s.listDeployments)
	route("POST /api/v1/endpoints/{name}/deployments", "api.deployments.create", rbac.DeploymentsWrite, endpointRes, s.createDeployment)
	route("GET /api/v1/endpoints/{name}/deployments/{dep}", "api.deployments.get", rbac.DeploymentsRead, deploymentRes, s.getDeployment)
	route("PATCH /api/v1/endpoints/{name}/deployments/{dep}", "api.deployments.update", rbac.DeploymentsWrite, deploymentRes, s.updateDeployment)
	route("DELETE /api/v1/endpoints/{name}/deployments/{dep}", "api.deployments.delete", rbac.DeploymentsDelete, deploymentRes, s.deleteDeployment)
	route("GET /api/v1/endpoints/{name}/deployments/{dep}/logs", "api.deployments.logs", rbac.DeploymentsRead, deploymentRes, s.deploymentLogs)
	if s.AuditLog != nil {
		route("GET /api/v1/audit", "api.audit.list", rbac.AuditRead, root, s.listAudit)
		route("GET /api/v1/audit/verify", "api.audit.verify", rbac.AuditRead, root, s.verifyAudit)
	}
	if s.Access != nil {
		route("GET /api/v1/roles", "api.roles.list", rbac.RolesRead, root, s.listRoles)
		route("POST /api/v1/roles", "api.roles.create", rbac.RolesWrite, root, s.createRole)
		route("GET /api/v1/role-assignments", "api.assignments.list", rbac.RolesRead, root, s.listAssignments)
		route("POST /api/v1/role-assignments", "api.assignments.create", rbac.RolesWrite, assignmentScope, s.createAssignment)
		route("DELETE /api/v1/role-assignments/{id}", "api.assignments.delete", rbac.RolesWrite, root, s.deleteAssignment)
		route("GET /api/v1/tokens", "api.tokens.list", rbac.TokensRead, root, s.listTokens)
		route("POST /api/v1/tokens", "api.tokens.create", rbac.TokensWrite, root, s.createToken)
		route("DELETE /api/v1/tokens/{name}", "api.tokens.revoke", rbac.TokensWrite, root, s.revokeToken)
		route("POST /api/v1/admin-token/rotate", "api.adminToken.rotate", rbac.RolesWrite, root, s.rotateAdminToken)
	}
	mux.Handle("/api/", s.observeWith("api.notfound", func(w http.ResponseWriter, r *http.Request) error {
		return vigil.Errorf(vigil.ENotFound, "No management route matches %s %s.", methodLabel(r.Method), clipPath(r.URL.Path))
	}, writeMgmtError))
}

// assignmentScope is where a new assignment applies; granting a role there
// needs roles/write there. (The body is read again by the handler.)
func assignmentScope(r *http.Request) string { return "/" }

// mgmtAuth requires a valid management bearer token whose principal may do
// action on the resource scope names.
func (s *Server) mgmtAuth(action string, scope scopeFunc, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		src := s.source(r)
		if err := s.throttled(w, src, action, scope(r)); err != nil {
			return err
		}
		tok := ""
		if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			tok = strings.TrimSpace(a[7:])
		}
		actor := vigil.Actor{Source: src}
		principal, err := s.Control.VerifyAccessToken(r.Context(), tok)
		if err != nil && vigil.ErrorCode(err) == vigil.EUnauthorized && s.Identities != nil && tok != "" && !strings.HasPrefix(tok, "vgt_") {
			var id vigil.Actor
			if id, err = s.Identities(r.Context(), tok); err == nil {
				principal, actor.Groups = id.Principal, id.Groups
			}
		}
		if err != nil {
			if vigil.ErrorCode(err) == vigil.EUnauthorized {
				s.Failures.Fail(src)
				if s.Metrics != nil {
					s.Metrics.authFailures.WithLabelValues("bad_access_token").Inc()
				}
				s.Logger.Warn("management authentication failed", "request_id", requestID(r), "remote", src)
				s.auditAsync(vigil.AuditEvent{Principal: "anonymous", Action: "management/authenticate", Scope: "/", Source: src, Outcome: vigil.OutcomeFailure, Detail: "bad_access_token"})
				return vigil.Errorf(vigil.EUnauthorized, "A valid bearer token is required (the admin token is in the data directory's admin-token file, or the file VIGIL_ADMIN_TOKEN_FILE names).")
			}
			return err
		}
		actor.Principal = principal
		ctx := vigil.WithActor(r.Context(), actor)
		if s.Access != nil {
			if err := s.Access.Authorize(ctx, action, scope(r)); err != nil {
				return err
			}
		} else if principal != control.AdminPrincipal {
			return vigil.Errorf(vigil.EForbidden, "missing permission %s", action)
		}
		return h(w, r.WithContext(ctx))
	}
}

// writeMgmtError writes {"error":{"code","message"}} with the code mapped
// from the error's domain code.
func writeMgmtError(w http.ResponseWriter, r *http.Request, log logger, err error) {
	var e *vigil.Error
	if !errors.As(err, &e) {
		e = &vigil.Error{Code: vigil.EInternal, Err: err}
	}
	status := statusOf(e.Code)
	code := wireCodeOf(e.Code)
	if e.Code == vigil.EInvalid {
		code = "BadRequest"
	}
	msg := e.Message
	if e.Code == vigil.EInternal {
		id := requestID(r)
		log.Error("internal error", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "An internal error occurred; quote request id " + id + " to the operator."
	}
	b := []byte(`{"error":{"code":`)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, "}}"...)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-ms-error-code", code)
	w.WriteHeader(status)
	w.Write(b)
}

// decodeStrict reads a JSON body into v, refusing unknown fields and
// naming the field of a type error.
func decodeStrict(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := readJSON(w, r, limit)
	if err != nil {
		return err
	}
	return unmarshalStrict(body, v)
}

// decodeResource is decodeStrict for an endpoint or deployment body, which
// may carry Azure ML's own keys: "$schema" is dropped, and each key of
// azureOnly (and, for deployments, of request_settings) is dropped with a
// Warning header ("299 - ..."), as kubectl shows them, and a log line.
func (s *Server) decodeResource(w http.ResponseWriter, r *http.Request, v any, azureOnly, inRequestSettings []string) error {
	body, err := readJSON(w, r, s.MaxBodyBytes)
	if err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil { // let the strict decoder explain
		return unmarshalStrict(body, v)
	}
	var dropped []string
	drop := func(m map[string]json.RawMessage, prefix string, keys []string) bool {
		changed := false
		for _, k := range keys {
			if _, ok := m[k]; ok {
				delete(m, k)
				dropped = append(dropped, prefix+k)
				changed = true
			}
		}
		return changed
	}
	_, schema := top["$schema"]
	delete(top, "$schema")
	changed := drop(top, "", azureOnly) || schema
	if rs, ok := top["request_settings"]; ok && len(inRequestSettings) > 0 {
		var m map[string]json.RawMessage
		if json.Unmarshal(rs, &m) == nil && drop(m, "request_settings.", inRequestSettings) {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			top["request_settings"] = b
			changed = true
		}
	}
	if changed {
		if body, err = json.Marshal(top); err != nil {
			return err
		}
	}
	for _, k := range dropped {
		// k comes from a fixed list, never from the request.
		w.Header().Add("Warning", `299 - "`+k+` is an Azure-only setting; Vigil ignores it"`)
		s.Logger.WarnContext(r.Context(), "ignored an Azure-only field", "field", k, "path", r.URL.Path)
	}
	return unmarshalStrict(body, v)
}

// readJSON checks the content type and reads a non-empty body of at most
// limit bytes.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if err := checkJSON(r); err != nil {
		return nil, err
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, vigil.Errorf(vigil.EInvalid, "the request body is empty; send a JSON object")
	}
	return body, nil
}

// unmarshalStrict decodes one JSON object into v, refusing unknown fields
// and naming the field of a type error.
func unmarshalStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return vigil.Errorf(vigil.EInvalid, "%s: must be %s, not %s", fieldPath(te.Field), jsonKind(te.Type.Kind().String()), te.Value)
		case errors.As(err, &se):
			return vigil.Errorf(vigil.EInvalid, "the request body is not valid JSON (at byte %d)", se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return vigil.Errorf(vigil.EInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return vigil.Errorf(vigil.EInvalid, "the request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return vigil.Errorf(vigil.EInvalid, "the request body must hold one JSON object")
	}
	return nil
}

// fieldPath drops the Go names of embedded structs from a JSON field path
// ("Deployment.instance_count" becomes "instance_count").
func fieldPath(p string) string {
	parts := strings.Split(p, ".")
	out := parts[:0]
	for _, part := range parts {
		if part != "" && part[0] >= 'A' && part[0] <= 'Z' {
			continue
		}
		out = append(out, part)
	}
	return strings.Join(out, ".")
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "map":
		return "an object"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct":
		return "an object"
	}
	return k
}

func writeValue(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// endpointOut is an endpoint as the API shows it.
type endpointOut struct {
	vigil.Endpoint
	ScoringURI         string `json:"scoring_uri"`
	AnomalyDetectorURI string `json:"anomaly_detector_uri"`
	ProvisioningState  string `json:"provisioning_state"`
}

// endpointIn is a create body: the endpoint, with the server-set fields
// accepted and ignored so that a shown endpoint can be sent back.
type endpointIn struct {
	vigil.Endpoint
	ScoringURI         json.RawMessage `json:"scoring_uri"`
	AnomalyDetectorURI json.RawMessage `json:"anomaly_detector_uri"`
	ProvisioningState  json.RawMessage `json:"provisioning_state"`
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func showEndpoint(r *http.Request, e vigil.Endpoint) endpointOut {
	if e.Tags == nil {
		e.Tags = map[string]string{}
	}
	if e.Traffic == nil {
		e.Traffic = map[string]int{}
	}
	if e.MirrorTraffic == nil {
		e.MirrorTraffic = map[string]int{}
	}
	base := baseURL(r) + "/endpoints/" + e.Name
	return endpointOut{Endpoint: e, ScoringURI: base + "/score", AnomalyDetectorURI: base, ProvisioningState: vigil.ProvisioningSucceeded}
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	eps, err := s.Control.ListEndpoints(r.Context())
	if err != nil {
		return err
	}
	out := make([]endpointOut, 0, len(eps))
	for _, e := range eps {
		out = append(out, showEndpoint(r, e))
	}
	return writeValue(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	var in endpointIn
	if err := s.decodeResource(w, r, &in, vigil.AzureOnlyEndpointFields, nil); err != nil {
		return err
	}
	e, err := s.Control.CreateEndpoint(r.Context(), in.Endpoint)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusCreated, showEndpoint(r, e))
}

func (s *Server) getEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Control.GetEndpoint(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, showEndpoint(r, e))
}

func (s *Server) updateEndpoint(w http.ResponseWriter, r *http.Request) error {
	var p control.EndpointPatch
	if err := s.decodeResource(w, r, &p, vigil.AzureOnlyEndpointFields, nil); err != nil {
		return err
	}
	e, err := s.Control.UpdateEndpoint(r.Context(), r.PathValue("name"), p)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, showEndpoint(r, e))
}

func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := s.Control.DeleteEndpoint(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	k, err := s.Control.ListKeys(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, k)
}

func (s *Server) regenerateKeys(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		KeyType  string `json:"keyType"`
		KeyValue string `json:"keyValue"`
	}
	if err := decodeStrict(w, r, 64<<10, &in); err != nil {
		return err
	}
	if err := s.Control.RegenerateKey(r.Context(), r.PathValue("name"), vigil.KeySlot(strings.ToLower(in.KeyType)), in.KeyValue); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Control.IssueToken(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, t)
}

func (s *Server) rotateSigningKey(w http.ResponseWriter, r *http.Request) error {
	kid, err := s.Control.RotateSigningKey(r.Context())
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, map[string]string{"kid": kid})
}

// deploymentOut is a deployment as the API shows it.
type deploymentOut struct {
	vigil.Deployment
	ProvisioningState string `json:"provisioning_state"`
}

type deploymentIn struct {
	vigil.Deployment
	ProvisioningState json.RawMessage `json:"provisioning_state"`
}

func showDeployment(d vigil.Deployment) deploymentOut {
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	if d.EnvironmentVariables == nil {
		d.EnvironmentVariables = map[string]string{}
	}
	return deploymentOut{Deployment: d, ProvisioningState: vigil.ProvisioningSucceeded}
}

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.Control.ListDeployments(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	out := make([]deploymentOut, 0, len(ds))
	for _, d := range ds {
		out = append(out, showDeployment(d))
	}
	return writeValue(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) error {
	var in deploymentIn
	if err := s.decodeResource(w, r, &in, vigil.AzureOnlyDeploymentFields, vigil.AzureOnlyRequestSettings); err != nil {
		return err
	}
	ep := r.PathValue("name")
	if in.EndpointName != "" && in.EndpointName != ep {
		return vigil.Errorf(vigil.EInvalid, "endpoint_name %q differs from the endpoint in the path, %q", clip(in.EndpointName), ep)
	}
	in.EndpointName = ep
	all := false
	if v := r.URL.Query().Get("all_traffic"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return vigil.Errorf(vigil.EInvalid, "all_traffic must be true or false")
		}
		all = b
	}
	d, err := s.Control.CreateDeployment(r.Context(), in.Deployment, all)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusCreated, showDeployment(d))
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Control.GetDeployment(r.Context(), r.PathValue("name"), r.PathValue("dep"))
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, showDeployment(d))
}

func (s *Server) updateDeployment(w http.ResponseWriter, r *http.Request) error {
	var p control.DeploymentPatch
	if err := s.decodeResource(w, r, &p, vigil.AzureOnlyDeploymentFields, vigil.AzureOnlyRequestSettings); err != nil {
		return err
	}
	d, err := s.Control.UpdateDeployment(r.Context(), r.PathValue("name"), r.PathValue("dep"), p)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, showDeployment(d))
}

func (s *Server) deleteDeployment(w http.ResponseWriter, r *http.Request) error {
	if err := s.Control.DeleteDeployment(r.Context(), r.PathValue("name"), r.PathValue("dep")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deploymentLogs(w http.ResponseWriter, r *http.Request) error {
	ep, name := r.PathValue("name"), r.PathValue("dep")
	if _, err := s.Control.GetDeployment(r.Context(), ep, name); err != nil {
		return err
	}
	lines := 100
	if v := r.URL.Query().Get("lines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5000 {
			return vigil.Errorf(vigil.EInvalid, "lines must be a whole number from 1 to 5000")
		}
		lines = n
	}
	entries := []score.LogEntry{}
	if s.Logs != nil {
		if d := s.Logs.Deployment(ep, name); d != nil {
			entries = d.Log.Last(lines)
		}
	}
	return writeValue(w, http.StatusOK, map[string]any{"value": entries})
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	roles, err := s.Access.ListRoles(r.Context())
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, map[string]any{"value": roles})
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request) error {
	var role rbac.Role
	if err := decodeStrict(w, r, 64<<10, &role); err != nil {
		return err
	}
	out, err := s.Access.CreateRole(r.Context(), role)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusCreated, out)
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request) error {
	as, err := s.Access.ListAssignments(r.Context())
	if err != nil {
		return err
	}
	if as == nil {
		as = []rbac.Assignment{}
	}
	return writeValue(w, http.StatusOK, map[string]any{"value": as})
}

func (s *Server) createAssignment(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Principal string `json:"principal"`
		Role      string `json:"role"`
		Scope     string `json:"scope"`
	}
	if err := decodeStrict(w, r, 64<<10, &in); err != nil {
		return err
	}
	if in.Scope == "" {
		in.Scope = "/"
	}
	out, err := s.Access.CreateAssignment(r.Context(), rbac.Assignment{Principal: in.Principal, Role: in.Role, Scope: in.Scope})
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusCreated, out)
}

func (s *Server) deleteAssignment(w http.ResponseWriter, r *http.Request) error {
	if err := s.Access.DeleteAssignment(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.Access.ListAccessTokens(r.Context())
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, map[string]any{"value": ts})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name    string `json:"name"`
		Expires string `json:"expires"`
	}
	if err := decodeStrict(w, r, 64<<10, &in); err != nil {
		return err
	}
	if in.Expires == "" {
		in.Expires = "24h"
	}
	d, err := time.ParseDuration(in.Expires)
	if err != nil {
		return vigil.Errorf(vigil.EInvalid, "expires must be a Go duration such as 1h or 30m")
	}
	out, err := s.Access.CreateAccessToken(r.Context(), in.Name, d)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusCreated, out)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.Access.RevokeAccessToken(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateAdminToken(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.Access.RotateAdminToken(r.Context(), s.AdminTokenFile)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, map[string]string{"token": tok})
}
