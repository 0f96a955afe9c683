// Package openapi holds the OpenAPI 3.0.3 document of everything Vigil's
// public listener serves, and [Routes], the table of the method and path
// pairs that listener registers.
//
// The document lives in openapi.json beside this file and is embedded in the
// binary; the server returns it at GET /swagger. It describes the Azure
// Anomaly Detector univariate data plane (for the built-in endpoint
// "default" at the root and for named endpoints under /endpoints/{name}),
// the Azure ML style scoring route /endpoints/{name}/score, the management
// API under /api/v1 (endpoints, deployments, keys, tokens, request logs, the
// audit log, roles, role assignments and access tokens; its own bearer-token
// security scheme), and the operations
// paths (/status, /ready, /healthz, / and /swagger). The Prometheus metrics
// path is not in it: metrics are served on a separate listener, never on the
// public port.
//
// The package's tests check that the document is well formed, that its
// paths and [Routes] agree, so a route cannot be added to one and forgotten
// in the other, and that the management schemas name the JSON fields of the
// Go types the server encodes and decodes.
package openapi

import (
	"bytes"
	_ "embed"
)

//go:embed openapi.json
var document []byte

// JSON returns the OpenAPI 3.0.3 document as JSON, the body of GET /swagger.
// Each call returns a new copy, so the caller may keep or change it.
func JSON() []byte {
	return bytes.Clone(document)
}

// Route is one method and path that the public listener serves.
type Route struct {
	// Method is the HTTP method in upper case, such as "POST".
	Method string
	// Path is the path template exactly as it appears under "paths" in the
	// document, with path parameters in braces, such as
	// "/anomalydetector/{apiVersion}/timeseries/last/detect".
	Path string
}

// Pattern returns r as a [net/http.ServeMux] pattern, "METHOD PATH". The
// document's parameter names are valid ServeMux wildcard names, so Path is
// used as it is, except that "/" becomes "/{$}" so that it matches the root
// only and not every path. The wildcards match any single segment: the
// handler still has to check the values, such as apiVersion against
// [APIVersions].
func (r Route) Pattern() string {
	p := r.Path
	if p == "/" {
		p = "/{$}"
	}
	return r.Method + " " + p
}

// Routes lists every method and path the public listener registers, in the
// order of the document. The server's tests use it to check that Vigil serves
// exactly these routes; this package's tests check that the document
// describes exactly these routes.
var Routes = []Route{
	// The Anomaly Detector data plane and Azure ML style scoring.
	{"POST", "/anomalydetector/{apiVersion}/timeseries/entire/detect"},
	{"POST", "/anomalydetector/{apiVersion}/timeseries/last/detect"},
	{"POST", "/anomalydetector/{apiVersion}/timeseries/changepoint/detect"},
	{"POST", "/endpoints/{endpointName}/anomalydetector/{apiVersion}/timeseries/entire/detect"},
	{"POST", "/endpoints/{endpointName}/anomalydetector/{apiVersion}/timeseries/last/detect"},
	{"POST", "/endpoints/{endpointName}/anomalydetector/{apiVersion}/timeseries/changepoint/detect"},
	{"POST", "/endpoints/{endpointName}/score"},

	// Operations.
	{"GET", "/status"},
	{"GET", "/ready"},
	{"GET", "/healthz"},
	{"GET", "/"},
	{"GET", "/swagger"},

	// The management API. The audit routes are served only when the server
	// has an audit log, and all of /api/v1 only when it has a control plane
	// (vigil serve always has both).
	{"GET", "/api/v1/endpoints"},
	{"POST", "/api/v1/endpoints"},
	{"GET", "/api/v1/endpoints/{endpointName}"},
	{"PATCH", "/api/v1/endpoints/{endpointName}"},
	{"DELETE", "/api/v1/endpoints/{endpointName}"},
	{"POST", "/api/v1/endpoints/{endpointName}/listKeys"},
	{"POST", "/api/v1/endpoints/{endpointName}/regenerateKeys"},
	{"POST", "/api/v1/endpoints/{endpointName}/token"},
	{"POST", "/api/v1/signing-keys/rotate"},
	{"GET", "/api/v1/endpoints/{endpointName}/deployments"},
	{"POST", "/api/v1/endpoints/{endpointName}/deployments"},
	{"GET", "/api/v1/endpoints/{endpointName}/deployments/{deploymentName}"},
	{"PATCH", "/api/v1/endpoints/{endpointName}/deployments/{deploymentName}"},
	{"DELETE", "/api/v1/endpoints/{endpointName}/deployments/{deploymentName}"},
	{"GET", "/api/v1/endpoints/{endpointName}/deployments/{deploymentName}/logs"},
	{"GET", "/api/v1/audit"},
	{"GET", "/api/v1/audit/verify"},

	// Role-based access control, served only when the server has it (vigil
	// serve always does).
	{"GET", "/api/v1/roles"},
	{"POST", "/api/v1/roles"},
	{"GET", "/api/v1/role-assignments"},
	{"POST", "/api/v1/role-assignments"},
	{"DELETE", "/api/v1/role-assignments/{assignmentId}"},
	{"GET", "/api/v1/tokens"},
	{"POST", "/api/v1/tokens"},
	{"DELETE", "/api/v1/tokens/{tokenName}"},
	{"POST", "/api/v1/admin-token/rotate"},
}

// APIVersions lists the Anomaly Detector API versions Vigil serves, the
// values the document allows for the {apiVersion} path parameter.
var APIVersions = []string{"v1.0", "v1.1", "v1.1-preview.1"}
