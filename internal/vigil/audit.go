package vigil

import (
	"context"
	"time"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"  // authenticated, not allowed; or refused by network policy
	OutcomeFailure = "failure" // failed authentication, or the change failed
)

// AuditEvent is one record of the audit log. It never holds a secret.
type AuditEvent struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Action    string    `json:"action"`
	Scope     string    `json:"scope"`
	Source    string    `json:"source"`
	Outcome   string    `json:"outcome"`
	Detail    string    `json:"detail,omitempty"`
	// MAC chains the record to the one before; set by the store.
	MAC []byte `json:"-"`
}

// AuditFilter selects audit events; zero fields select all.
type AuditFilter struct {
	Since     time.Time
	Principal string
	Action    string
	Limit     int
}

// Actor is who is acting and from where, carried in a request's context.
type Actor struct {
	Principal string
	// Groups are the principal's groups ("group:<name>"), from its
	// identity provider.
	Groups []string
	Source string
}

// Principals returns the actor's principal followed by its groups.
func (a Actor) Principals() []string {
	return append([]string{a.Principal}, a.Groups...)
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or a zero Actor.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// StoreTimeLayout is how stores write times as text: fixed width, in UTC,
// to the nanosecond, so that text order is time order.
const StoreTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"
