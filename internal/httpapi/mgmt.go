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

// mgmtRoutes registers /api/v1 on mux.
func (s *Server) mgmtRoutes(mux *http.ServeMux) {
	route := func(pattern, name string, h handlerFunc) {
		mux.Handle(pattern, s.observeWith(name, s.mgmtAuth(h), writeMgmtError))
	}
	route("GET /api/v1/endpoints", "api.endpoints.list", s.listEndpoints)
	route("POST /api/v1/endpoints", "api.endpoints.create", s.createEndpoint)
	route("GET /api/v1/endpoints/{name}", "api.endpoints.get", s.getEndpoint)
	route("PATCH /api/v1/endpoints/{name}", "api.endpoints.update", s.updateEndpoint)
	route("DELETE /api/v1/endpoints/{name}", "api.endpoints.delete", s.deleteEndpoint)
	route("POST /api/v1/endpoints/{name}/listKeys", "api.endpoints.listKeys", s.listKeys)
	route("POST /api/v1/endpoints/{name}/regenerateKeys", "api.endpoints.regenerateKeys", s.regenerateKeys)
	route("POST /api/v1/endpoints/{name}/token", "api.endpoints.token", s.token)
	route("POST /api/v1/signing-keys/rotate", "api.signingKeys.rotate", s.rotateSigningKey)
	route("GET /api/v1/endpoints/{name}/deployments", "api.deployments.list", s.listDeployments)
	route("POST /api/v1/endpoints/{name}/deployments", "api.deployments.create", s.createDeployment)
	route("GET /api/v1/endpoints/{name}/deployments/{dep}", "api.deployments.get", s.getDeployment)
	route("PATCH /api/v1/endpoints/{name}/deployments/{dep}", "api.deployments.update", s.updateDeployment)
	route("DELETE /api/v1/endpoints/{name}/deployments/{dep}", "api.deployments.delete", s.deleteDeployment)
	route("GET /api/v1/endpoints/{name}/deployments/{dep}/logs", "api.deployments.logs", s.deploymentLogs)
	if s.AuditLog != nil {
		route("GET /api/v1/audit", "api.audit.list", s.listAudit)
		route("GET /api/v1/audit/verify", "api.audit.verify", s.verifyAudit)
	}
	mux.Handle("/api/", s.observeWith("api.notfound", func(w http.ResponseWriter, r *http.Request) error {
		return vigil.Errorf(vigil.ENotFound, "No management route matches %s %s.", methodLabel(r.Method), clipPath(r.URL.Path))
	}, writeMgmtError))
}

// mgmtAuth requires a valid management bearer token.
func (s *Server) mgmtAuth(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		src := s.source(r)
		if retry, limited := s.Failures.Limited(src); limited {
			return &vigil.Error{Code: vigil.ERateLimited, Message: "Too many failed authentications from this address; retry after " + strconv.Itoa(int(retry.Seconds()+0.999)) + " seconds."}
		}
		tok := ""
		if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			tok = strings.TrimSpace(a[7:])
		}
		principal, err := s.Control.VerifyAccessToken(r.Context(), tok)
		if err != nil {
			if vigil.ErrorCode(err) == vigil.EUnauthorized {
				s.Failures.Fail(src)
				if s.Metrics != nil {
					s.Metrics.authFailures.WithLabelValues("bad_access_token").Inc()
				}
				s.Logger.Warn("management authentication failed", "request_id", requestID(r), "remote", src)
				s.auditAsync(vigil.AuditEvent{Principal: "anonymous", Action: "management/authenticate", Scope: "/", Source: src, Outcome: vigil.OutcomeFailure, Detail: "bad_access_token"})
				return vigil.Errorf(vigil.EUnauthorized, "A valid bearer token is required (the admin token is in the data directory's admin-token file).")
			}
			return err
		}
		return h(w, r.WithContext(vigil.WithActor(r.Context(), vigil.Actor{Principal: principal, Source: src})))
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
	if err := checkJSON(r); err != nil {
		return err
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return vigil.Errorf(vigil.EInvalid, "the request body is empty; send a JSON object")
	}
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
	if err := decodeStrict(w, r, s.MaxBodyBytes, &in); err != nil {
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
	if err := decodeStrict(w, r, s.MaxBodyBytes, &p); err != nil {
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
	if err := decodeStrict(w, r, s.MaxBodyBytes, &in); err != nil {
		return err
	}
	ep := r.PathValue("name")
	if in.EndpointName != "" && in.EndpointName != ep {
		return vigil.Errorf(vigil.EInvalid, "endpoint_name %q differs from the endpoint in the path, %q", clip(in.EndpointName), ep)
	}
	in.EndpointName = ep
	all, _ := strconv.ParseBool(r.URL.Query().Get("all_traffic"))
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
	if err := decodeStrict(w, r, s.MaxBodyBytes, &p); err != nil {
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
