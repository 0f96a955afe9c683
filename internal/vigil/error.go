// Package vigil holds Vigil's domain vocabulary: the error type and its closed
// set of codes, endpoint names and the other small types every layer shares.
// It imports only the standard library.
package vigil

import (
	"errors"
	"fmt"
)

// Code classifies an error. The set is closed and only ever appended to; the
// HTTP layer maps each code to a status in exactly one place.
type Code string

// The error codes.
const (
	EInvalid          Code = "invalid"            // the caller's request is wrong
	EUnauthorized     Code = "unauthorized"       // missing or wrong credential
	EForbidden        Code = "forbidden"          // authenticated but not allowed
	ENotFound         Code = "not_found"          // no such resource or route
	EMethodNotAllowed Code = "method_not_allowed" // the route exists for other methods
	EConflict         Code = "conflict"           // the change clashes with stored state
	ETooLarge         Code = "too_large"          // the request body is over the limit
	EUnsupportedMedia Code = "unsupported_media"  // the request body is not JSON
	ERateLimited      Code = "rate_limited"       // too many requests or failures
	EUnavailable      Code = "unavailable"        // not ready, or a dependency is down
	ETimeout          Code = "timeout"            // the work did not finish in time
	EInternal         Code = "internal"           // a bug or an unexpected failure
)

// Error is Vigil's one error type. Message is safe to show to the caller;
// Err, the internal cause, is only ever logged.
type Error struct {
	// Code classifies the error.
	Code Code
	// APICode is the code put on the wire when an API has its own
	// vocabulary (the Anomaly Detector's "InvalidSeries", for example).
	APICode string
	// Message is a sentence for the caller, free of secrets.
	Message string
	// Err is the internal cause, logged but never shown.
	Err error
}

// Error implements the error interface with the caller-safe text.
func (e *Error) Error() string {
	if e.APICode != "" {
		return fmt.Sprintf("%s: %s", e.APICode, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// APIErrorf returns an *Error with an API-specific wire code.
func APIErrorf(code Code, apiCode, format string, args ...any) *Error {
	return &Error{Code: code, APICode: apiCode, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err when it is or wraps an *Error, and
// EInternal otherwise (nil gives "").
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
