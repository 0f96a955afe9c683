// Package adapi speaks the Azure Anomaly Detector univariate REST API's wire
// format: it decodes and validates request bodies exactly as the retired
// service did, fills gaps in the series by the request's impute mode, runs
// Vigil's detector (package anomaly) and encodes the answer byte for byte in
// the service's shape.
//
// It knows nothing of HTTP: a request body goes in, a response body or a
// *vigil.Error carrying the service's error code comes out. Every error here
// is the caller's mistake and maps to HTTP 400 with the code in APICode.
package adapi
