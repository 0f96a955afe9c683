package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil/internal/vigil"
)

// statusOf maps a vigil error code to an HTTP status. It is the only place
// where domain codes meet status numbers.
func statusOf(c vigil.Code) int {
	switch c {
	case vigil.EInvalid:
		return http.StatusBadRequest
	case vigil.EUnauthorized:
		return http.StatusUnauthorized
	case vigil.EForbidden:
		return http.StatusForbidden
	case vigil.ENotFound:
		return http.StatusNotFound
	case vigil.EMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case vigil.EConflict:
		return http.StatusConflict
	case vigil.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case vigil.EUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case vigil.ERateLimited:
		return http.StatusTooManyRequests
	case vigil.EUnavailable:
		return http.StatusServiceUnavailable
	case vigil.ETimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// wireCodeOf is the code written in a flat error body when the error has no
// API-specific code.
func wireCodeOf(c vigil.Code) string {
	switch c {
	case vigil.EInvalid:
		return "BadArgument"
	case vigil.EUnauthorized:
		return "Unauthorized"
	case vigil.EForbidden:
		return "Forbidden"
	case vigil.ENotFound:
		return "NotFound"
	case vigil.EMethodNotAllowed:
		return "MethodNotAllowed"
	case vigil.EConflict:
		return "Conflict"
	case vigil.ETooLarge:
		return "RequestEntityTooLarge"
	case vigil.EUnsupportedMedia:
		return "UnsupportedMediaType"
	case vigil.ERateLimited:
		return "TooManyRequests"
	case vigil.EUnavailable:
		return "ServiceUnavailable"
	case vigil.ETimeout:
		return "Timeout"
	}
	return "InternalServerError"
}

// unauthorizedMessage is the Azure front door's text for a missing or wrong
// key, whatever the reason, so that callers learn nothing from it.
const unauthorizedMessage = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."

// writeError writes err in the Anomaly Detector's shapes: 401 and 429 in the
// front door's wrapped shape {"error":{"code":"401","message":...}}, all
// others flat {"code":...,"message":...} with the x-ms-error-code header.
// Internal errors are logged with the request id and shown as a generic
// message.
func writeError(w http.ResponseWriter, r *http.Request, log logger, err error) {
	var e *vigil.Error
	if !errors.As(err, &e) {
		e = &vigil.Error{Code: vigil.EInternal, Err: err}
	}
	status := statusOf(e.Code)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	switch status {
	case http.StatusUnauthorized, http.StatusTooManyRequests:
		msg := unauthorizedMessage
		if status == http.StatusTooManyRequests {
			msg = e.Message
		}
		h.Set("x-ms-error-code", strconv.Itoa(status))
		b := []byte(`{"error":{"code":"` + strconv.Itoa(status) + `","message":`)
		b = appendJSONString(b, msg)
		b = append(b, "}}"...)
		w.WriteHeader(status)
		w.Write(b)
		return
	}
	code := e.APICode
	if code == "" {
		code = wireCodeOf(e.Code)
	}
	msg := e.Message
	if e.Code == vigil.EInternal {
		id := requestID(r)
		log.Error("internal error", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "An internal error occurred; quote request id " + id + " to the operator."
	}
	h.Set("x-ms-error-code", code)
	b := []byte(`{"code":`)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, '}')
	w.WriteHeader(status)
	w.Write(b)
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	s = strings.ToValidUTF8(s, "\uFFFD")
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
