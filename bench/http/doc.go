// Package httpbench holds Vigil's HTTP benchmark: run.sh measures `vigil
// serve` with wrk against a bare JSON-decoding handler (./baseline), and
// handler_test.go times the public handler and its parts in-process.
package httpbench
