// Package client is a typed Go client for Vigil's management API (/api/v1)
// and its scoring route. It turns error responses back into *vigil.Error
// values with the server's code and message, so that the CLI says what the
// server said. A token is only ever sent in the Authorization header: never
// in a URL, never in an error.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/vigil"
)

// DefaultTimeout bounds every request made by a client whose HTTPClient is
// nil.
const DefaultTimeout = 30 * time.Second

// DefaultScoreTimeout bounds a scoring call: longer than the largest
// request_timeout_ms a deployment may have (180 s), so that the server's
// 504 arrives before the client gives up.
const DefaultScoreTimeout = 190 * time.Second

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 32 << 20

// Client calls one Vigil server. Its zero value is not usable; build it with
// [New].
type Client struct {
	base  *url.URL
	token string
	// HTTPClient makes the requests. New sets one with DefaultTimeout that
	// never follows redirects.
	HTTPClient *http.Client
	// UserAgent is sent with every request.
	UserAgent string
	// ScoreTimeout, when positive, replaces HTTPClient's timeout for Score.
	ScoreTimeout time.Duration
}

// New returns a client for the server at baseURL (http or https, with an
// optional path prefix) that authenticates management calls with token.
func New(baseURL, token string) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, vigil.Errorf(vigil.EInvalid, "the server URL is not a URL; it must be http://host:port or https://host:port")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, vigil.Errorf(vigil.EInvalid, "server URL %q must be http://host:port or https://host:port", clipString(u.Redacted()))
	}
	if u.User != nil {
		return nil, vigil.Errorf(vigil.EInvalid, "server URL must not hold credentials; give the token with --token or VIGIL_TOKEN")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, vigil.Errorf(vigil.EInvalid, "server URL %q must not have a query or fragment", clipString(u.Redacted()))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return &Client{
		base:  u,
		token: token,
		HTTPClient: &http.Client{
			Timeout: DefaultTimeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				return errRedirect
			},
		},
		UserAgent:    "vigil-client",
		ScoreTimeout: DefaultScoreTimeout,
	}, nil
}

var errRedirect = errors.New("redirect refused")

// BaseURL returns the server's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// url builds the URL of a path made of escaped segments under the base.
func (c *Client) url(query url.Values, segments ...string) string {
	u := *c.base
	var raw, plain strings.Builder
	for _, s := range segments {
		raw.WriteByte('/')
		raw.WriteString(url.PathEscape(s))
		plain.WriteByte('/')
		plain.WriteString(s)
	}
	u.Path = c.base.Path + plain.String()
	u.RawPath = c.base.EscapedPath() + raw.String()
	if query != nil {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// do sends a request with the admin token and decodes a 2xx JSON answer into
// out (when out is not nil). Any other answer becomes an error.
func (c *Client) do(ctx context.Context, method, u string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	status, _, data, err := c.send(req, 0)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return ErrorFromResponse(status, data)
	}
	if out == nil || status == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return vigil.Errorf(vigil.EInternal, "the server's answer to %s %s is not the JSON expected (%v); is --url a Vigil server?", method, req.URL.Path, err)
	}
	return nil
}

// send makes the request and reads the answer, bounded in size. A positive
// timeout replaces the HTTP client's.
func (c *Client) send(req *http.Request, timeout time.Duration) (int, http.Header, []byte, error) {
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	if timeout > 0 {
		copied := *hc
		copied.Timeout = timeout
		hc = &copied
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, transportError(req, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return 0, nil, nil, vigil.Errorf(vigil.EUnavailable, "reading the answer from %s: %v", req.URL.Host, scrub(err))
	}
	if len(data) > maxResponseBytes {
		return 0, nil, nil, vigil.Errorf(vigil.EInternal, "the answer from %s is larger than %d bytes", req.URL.Host, maxResponseBytes)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// transportError describes a failed round trip without the request's
// headers (the only place a secret travels).
func transportError(req *http.Request, err error) error {
	if errors.Is(err, errRedirect) {
		return vigil.Errorf(vigil.EInvalid, "the server at %s answered with a redirect, which the client does not follow; check --url (http or https, host and port)", req.URL.Host)
	}
	if errors.Is(err, context.Canceled) {
		return vigil.Errorf(vigil.EUnavailable, "request to %s cancelled", req.URL.Host)
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return vigil.Errorf(vigil.EUnavailable, "no answer from %s in time; is the server busy or --url wrong?", req.URL.Host)
	}
	return vigil.Errorf(vigil.EUnavailable, "cannot reach the server at %s: %v", req.URL.Host, scrub(err))
}

// scrub returns the innermost error's text: *url.Error repeats the URL,
// which is safe but noisy.
func scrub(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return clipString(err.Error())
}

// ErrorFromResponse turns an error answer into a *vigil.Error. It reads both
// the management API's shape {"error":{"code","message"}} and the Anomaly
// Detector's flat {"code","message"}; the code comes from the wire code when
// it is known and from the status otherwise. API-specific wire codes
// (NoDeployment, InvalidSeries, ...) are kept in APICode.
func ErrorFromResponse(status int, body []byte) *vigil.Error {
	var wire struct {
		Error *struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
		} `json:"error"`
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	}
	var wireCode, msg string
	if json.Unmarshal(body, &wire) == nil {
		if wire.Error != nil {
			wireCode, msg = rawString(wire.Error.Code), wire.Error.Message
		} else {
			wireCode, msg = rawString(wire.Code), wire.Message
		}
	}
	code, generic := codeOfWire(wireCode)
	if code == "" {
		code = codeOfStatus(status)
	}
	msg = sanitize(msg)
	if msg == "" {
		text := http.StatusText(status)
		if text == "" {
			text = "unknown status"
		}
		msg = fmt.Sprintf("the server answered %d %s", status, text)
	}
	e := &vigil.Error{Code: code, Message: msg}
	if !generic && wireCode != "" {
		e.APICode = sanitize(wireCode)
	}
	return e
}

// rawString reads a JSON string or number as text.
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// codeOfWire maps a wire error code to a vigil code and reports whether the
// wire code is one of the generic ones (rather than API-specific).
func codeOfWire(w string) (vigil.Code, bool) {
	switch w {
	case "BadRequest", "BadArgument", "400":
		return vigil.EInvalid, true
	case "Unauthorized", "401":
		return vigil.EUnauthorized, true
	case "Forbidden", "403":
		return vigil.EForbidden, true
	case "NotFound", "404":
		return vigil.ENotFound, true
	case "MethodNotAllowed", "405":
		return vigil.EMethodNotAllowed, true
	case "Conflict", "409":
		return vigil.EConflict, true
	case "RequestEntityTooLarge", "413":
		return vigil.ETooLarge, true
	case "UnsupportedMediaType", "415":
		return vigil.EUnsupportedMedia, true
	case "TooManyRequests", "429":
		return vigil.ERateLimited, true
	case "ServiceUnavailable", "503":
		return vigil.EUnavailable, true
	case "InternalServerError", "500":
		return vigil.EInternal, true
	}
	return "", false
}

// codeOfStatus maps an HTTP status to a vigil code.
func codeOfStatus(status int) vigil.Code {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return vigil.EInvalid
	case http.StatusUnauthorized:
		return vigil.EUnauthorized
	case http.StatusForbidden:
		return vigil.EForbidden
	case http.StatusNotFound, http.StatusGone:
		return vigil.ENotFound
	case http.StatusMethodNotAllowed:
		return vigil.EMethodNotAllowed
	case http.StatusConflict:
		return vigil.EConflict
	case http.StatusRequestEntityTooLarge:
		return vigil.ETooLarge
	case http.StatusUnsupportedMediaType:
		return vigil.EUnsupportedMedia
	case http.StatusTooManyRequests:
		return vigil.ERateLimited
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return vigil.EUnavailable
	}
	return vigil.EInternal
}

// sanitize makes server text safe for a terminal: no control characters,
// at most 1000 bytes.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return ' '
		}
		return r
	}, s)
	return clipString(strings.TrimSpace(s))
}

func clipString(s string) string {
	if len(s) > 1000 {
		return strings.ToValidUTF8(s[:1000], "") + "..."
	}
	return s
}

// ListEndpoints returns every endpoint, sorted by name.
func (c *Client) ListEndpoints(ctx context.Context) ([]Endpoint, error) {
	var out struct {
		Value []Endpoint `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, c.url(nil, "api", "v1", "endpoints"), nil, &out)
	return out.Value, err
}

// CreateEndpoint creates an endpoint from ep's settable fields (name,
// description, tags, auth_mode, public_network_access). EConflict if it
// exists.
func (c *Client) CreateEndpoint(ctx context.Context, ep *Endpoint) (*Endpoint, error) {
	body := endpointCreate{
		Name:                ep.Name,
		Description:         ep.Description,
		Tags:                ep.Tags,
		AuthMode:            ep.AuthMode,
		PublicNetworkAccess: ep.PublicNetworkAccess,
	}
	var out Endpoint
	if err := c.do(ctx, http.MethodPost, c.url(nil, "api", "v1", "endpoints"), body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetEndpoint returns the named endpoint. ENotFound if there is none.
func (c *Client) GetEndpoint(ctx context.Context, name string) (*Endpoint, error) {
	var out Endpoint
	if err := c.do(ctx, http.MethodGet, c.url(nil, "api", "v1", "endpoints", name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateEndpoint patches the named endpoint: each key of patch
// (description, tags, auth_mode, public_network_access, traffic,
// mirror_traffic) replaces the stored field; an empty map clears traffic.
func (c *Client) UpdateEndpoint(ctx context.Context, name string, patch map[string]any) (*Endpoint, error) {
	if patch == nil {
		patch = map[string]any{}
	}
	var out Endpoint
	if err := c.do(ctx, http.MethodPatch, c.url(nil, "api", "v1", "endpoints", name), patch, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteEndpoint deletes the named endpoint with its deployments and keys.
func (c *Client) DeleteEndpoint(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, c.url(nil, "api", "v1", "endpoints", name), nil, nil)
}

// ListKeys returns the keys of a key-auth endpoint.
func (c *Client) ListKeys(ctx context.Context, endpoint string) (*Keys, error) {
	var out Keys
	if err := c.do(ctx, http.MethodPost, c.url(nil, "api", "v1", "endpoints", endpoint, "listKeys"), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegenerateKeys replaces one of an endpoint's keys ("primary" or
// "secondary") with a new random key, or with keyValue when it is not empty.
func (c *Client) RegenerateKeys(ctx context.Context, endpoint, keyType, keyValue string) error {
	body := struct {
		KeyType  string `json:"keyType"`
		KeyValue string `json:"keyValue,omitempty"`
	}{keyType, keyValue}
	return c.do(ctx, http.MethodPost, c.url(nil, "api", "v1", "endpoints", endpoint, "regenerateKeys"), body, nil)
}

// GetToken returns a new aml_token for an aml_token endpoint.
func (c *Client) GetToken(ctx context.Context, endpoint string) (*Token, error) {
	var out Token
	if err := c.do(ctx, http.MethodPost, c.url(nil, "api", "v1", "endpoints", endpoint, "token"), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RotateSigningKey makes the server sign new aml_tokens with a new key.
func (c *Client) RotateSigningKey(ctx context.Context) (*SigningKey, error) {
	var out SigningKey
	if err := c.do(ctx, http.MethodPost, c.url(nil, "api", "v1", "signing-keys", "rotate"), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListDeployments returns the deployments of an endpoint.
func (c *Client) ListDeployments(ctx context.Context, endpoint string) ([]Deployment, error) {
	var out struct {
		Value []Deployment `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, c.url(nil, "api", "v1", "endpoints", endpoint, "deployments"), nil, &out)
	return out.Value, err
}

// CreateDeployment creates a deployment under endpoint from d's settable
// fields; zero values take the server's defaults. With allTraffic the
// endpoint's traffic becomes {d.Name: 100}.
func (c *Client) CreateDeployment(ctx context.Context, endpoint string, d *Deployment, allTraffic bool) (*Deployment, error) {
	body := deploymentCreate{
		Name:                      d.Name,
		EndpointName:              d.EndpointName,
		Description:               d.Description,
		Model:                     d.Model,
		InstanceCount:             d.InstanceCount,
		EgressPublicNetworkAccess: d.EgressPublicNetworkAccess,
		EnvironmentVariables:      d.EnvironmentVariables,
		LivenessProbe:             d.LivenessProbe,
		ReadinessProbe:            d.ReadinessProbe,
		Tags:                      d.Tags,
	}
	if d.RequestSettings != (RequestSettings{}) {
		rs := d.RequestSettings
		body.RequestSettings = &rs
	}
	var q url.Values
	if allTraffic {
		q = url.Values{"all_traffic": {"true"}}
	}
	var out Deployment
	if err := c.do(ctx, http.MethodPost, c.url(q, "api", "v1", "endpoints", endpoint, "deployments"), body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetDeployment returns one deployment of an endpoint.
func (c *Client) GetDeployment(ctx context.Context, endpoint, name string) (*Deployment, error) {
	var out Deployment
	if err := c.do(ctx, http.MethodGet, c.url(nil, "api", "v1", "endpoints", endpoint, "deployments", name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateDeployment patches a deployment: each key of patch (description,
// instance_count, request_settings, egress_public_network_access,
// environment_variables, liveness_probe, readiness_probe, tags) replaces the
// stored field.
func (c *Client) UpdateDeployment(ctx context.Context, endpoint, name string, patch map[string]any) (*Deployment, error) {
	if patch == nil {
		patch = map[string]any{}
	}
	var out Deployment
	if err := c.do(ctx, http.MethodPatch, c.url(nil, "api", "v1", "endpoints", endpoint, "deployments", name), patch, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteDeployment deletes a deployment. EConflict while it takes live or
// mirrored traffic.
func (c *Client) DeleteDeployment(ctx context.Context, endpoint, name string) error {
	return c.do(ctx, http.MethodDelete, c.url(nil, "api", "v1", "endpoints", endpoint, "deployments", name), nil, nil)
}

// DeploymentLogs returns a deployment's most recent request-log entries,
// newest last; lines <= 0 takes the server's default (100).
func (c *Client) DeploymentLogs(ctx context.Context, endpoint, name string, lines int) ([]LogEntry, error) {
	var q url.Values
	if lines > 0 {
		q = url.Values{"lines": {strconv.Itoa(lines)}}
	}
	var out struct {
		Value []LogEntry `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, c.url(q, "api", "v1", "endpoints", endpoint, "deployments", name, "logs"), nil, &out)
	return out.Value, err
}

// Score posts body to the endpoint's scoring route with credential (an
// endpoint key or aml_token) as the bearer token. A non-empty deployment
// pins the call to that deployment. Any HTTP answer is returned as a
// ScoreResult; only a failed round trip is an error. Use
// [ErrorFromResponse] to read a non-2xx answer.
func (c *Client) Score(ctx context.Context, endpoint string, body []byte, credential, deployment string) (*ScoreResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(nil, "endpoints", endpoint, "score"), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	if deployment != "" {
		req.Header.Set("azureml-model-deployment", deployment)
	}
	status, h, data, err := c.send(req, c.ScoreTimeout)
	if err != nil {
		return nil, err
	}
	return &ScoreResult{Status: status, Deployment: h.Get("azureml-model-deployment"), Body: data}, nil
}
