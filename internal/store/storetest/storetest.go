// Package storetest is the conformance suite of Vigil's store contract:
// every backend (the embedded SQLite store, PostgreSQL) runs Exercise from
// its own tests, against a real database, and must pass all of it.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/audit"
	"github.com/vigilhq/vigil/internal/rbac"
	"github.com/vigilhq/vigil/internal/vigil"
)

// Store is the contract every store backend implements: the union of what
// the control plane, the data plane and the audit log need, plus the
// maintenance methods. Methods return *vigil.Error codes for the cases the
// suite names (ENotFound, EConflict); other failures are plain errors.
type Store interface {
	// Data keys.
	ActiveDataKey(ctx context.Context) (vigil.DataKey, error)
	CreateDataKey(ctx context.Context, kekID string, wrapped []byte) (int64, error)
	CreateFirstDataKey(ctx context.Context, kekID string, wrapped []byte) (vigil.DataKey, error)
	DataKeys(ctx context.Context) ([]vigil.DataKey, error)
	RewrapDataKeys(ctx context.Context, keys []vigil.DataKey) error

	// Endpoint keys.
	EnsureEndpoint(ctx context.Context, name string) error
	Keys(ctx context.Context) ([]vigil.StoredKey, error)
	PutKey(ctx context.Context, k vigil.StoredKey) error

	// Endpoints and deployments.
	CreateEndpoint(ctx context.Context, e *vigil.Endpoint) error
	GetEndpoint(ctx context.Context, name string) (vigil.Endpoint, error)
	ListEndpoints(ctx context.Context) ([]vigil.Endpoint, error)
	UpdateEndpoint(ctx context.Context, name string, update func(e *vigil.Endpoint, deployments []string) error) (vigil.Endpoint, error)
	DeleteEndpoint(ctx context.Context, name string) error
	CreateDeployment(ctx context.Context, d *vigil.SealedDeployment, allTraffic bool) error
	GetDeployment(ctx context.Context, endpoint, name string) (vigil.SealedDeployment, error)
	ListDeployments(ctx context.Context, endpoint string) ([]vigil.SealedDeployment, error)
	UpdateDeployment(ctx context.Context, endpoint, name string, update func(d *vigil.SealedDeployment) error) (vigil.SealedDeployment, error)
	DeleteDeployment(ctx context.Context, endpoint, name string) error

	// Signing keys and access tokens.
	CreateSigningKey(ctx context.Context, k vigil.SigningKey) error
	SigningKeys(ctx context.Context) ([]vigil.SigningKey, error)
	RetireSigningKeys(ctx context.Context, before time.Time, keep string) error
	CreateAccessToken(ctx context.Context, t vigil.AccessToken) error
	RevokeAccessTokens(ctx context.Context, principal string) error
	RevokeAccessToken(ctx context.Context, name string) error
	AccessTokens(ctx context.Context) ([]vigil.AccessToken, error)

	// Roles and assignments.
	CreateRole(ctx context.Context, r rbac.Role) error
	Roles(ctx context.Context) ([]rbac.Role, error)
	CreateAssignment(ctx context.Context, a rbac.Assignment) error
	Assignments(ctx context.Context) ([]rbac.Assignment, error)
	DeleteAssignment(ctx context.Context, id string) error

	// The audit log.
	AppendAudit(ctx context.Context, events []vigil.AuditEvent, mac func(prev []byte, ev vigil.AuditEvent) []byte, head func(seq int64, last []byte) []byte) error
	ListAudit(ctx context.Context, f vigil.AuditFilter) ([]vigil.AuditEvent, error)
	AuditHead(ctx context.Context) (int64, []byte, error)
	ReplaceAuditHead(ctx context.Context, seq int64, old, mac []byte) (bool, error)

	// Maintenance.
	IntegrityCheck(ctx context.Context) (string, error)
	// Exec runs a statement with ? placeholders below the contract.
	Exec(ctx context.Context, query string, args ...any) error
	Close() error
}

// Exercise runs the conformance suite. open must return a new, empty,
// migrated store for each call (the suite closes it).
func Exercise(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"DataKeys", testDataKeys},
		{"FirstDataKeyIsShared", testFirstDataKey},
		{"RewrapIsAtomic", testRewrapIsAtomic},
		{"EndpointKeys", testEndpointKeys},
		{"Endpoints", testEndpoints},
		{"UpdateEndpointRollsBack", testUpdateEndpointRollsBack},
		{"Deployments", testDeployments},
		{"DeploymentTrafficRules", testDeploymentTrafficRules},
		{"UpdateDeploymentRollsBack", testUpdateDeploymentRollsBack},
		{"DeleteEndpointCascades", testDeleteEndpointCascades},
		{"SigningKeys", testSigningKeys},
		{"AccessTokens", testAccessTokens},
		{"Roles", testRoles},
		{"Assignments", testAssignments},
		{"Audit", testAudit},
		{"AuditFilters", testAuditFilters},
		{"AuditConcurrentAppends", testAuditConcurrent},
		{"AuditAppendRollsBack", testAuditAppendRollsBack},
		{"AuditAppendKeepsABrokenHeadVisible", testAuditBrokenHead},
		{"AuditReplaceHead", testAuditReplaceHead},
		{"Maintenance", testMaintenance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tt.fn(t, s)
		})
	}
}

// wantCode fails the test unless err carries code (and, when msg is not
// empty, exactly that message).
func wantCode(t *testing.T, what string, err error, code vigil.Code, msg string) {
	t.Helper()
	if got := vigil.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
		return
	}
	var ve *vigil.Error
	if msg != "" && errors.As(err, &ve) && ve.Message != msg {
		t.Errorf("%s: message %q, want %q", what, ve.Message, msg)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func testDataKeys(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.ActiveDataKey(ctx)
	wantCode(t, "ActiveDataKey on an empty store", err, vigil.ENotFound, "")
	ks, err := s.DataKeys(ctx)
	must(t, "DataKeys", err)
	if len(ks) != 0 {
		t.Errorf("DataKeys on an empty store = %d keys", len(ks))
	}
	w1, w2 := random(40), random(40)
	id1, err := s.CreateDataKey(ctx, "kek-1", w1)
	must(t, "CreateDataKey", err)
	id2, err := s.CreateDataKey(ctx, "kek-1", w2)
	must(t, "CreateDataKey", err)
	if id1 <= 0 || id2 <= id1 {
		t.Errorf("data key ids %d, %d: want positive and increasing", id1, id2)
	}
	active, err := s.ActiveDataKey(ctx)
	must(t, "ActiveDataKey", err)
	if active.ID != id2 || active.KEKID != "kek-1" || !bytes.Equal(active.Wrapped, w2) {
		t.Errorf("ActiveDataKey = %+v, want the newest (id %d)", active, id2)
	}
	ks, err = s.DataKeys(ctx)
	must(t, "DataKeys", err)
	if len(ks) != 2 || ks[0].ID != id1 || ks[1].ID != id2 || !bytes.Equal(ks[0].Wrapped, w1) {
		t.Fatalf("DataKeys = %+v, want ids %d, %d oldest first", ks, id1, id2)
	}
	n1, n2 := random(40), random(40)
	must(t, "RewrapDataKeys", s.RewrapDataKeys(ctx, []vigil.DataKey{{ID: id1, KEKID: "kek-2", Wrapped: n1}, {ID: id2, KEKID: "kek-2", Wrapped: n2}}))
	ks, err = s.DataKeys(ctx)
	must(t, "DataKeys", err)
	if len(ks) != 2 || ks[0].KEKID != "kek-2" || !bytes.Equal(ks[0].Wrapped, n1) || ks[1].KEKID != "kek-2" || !bytes.Equal(ks[1].Wrapped, n2) {
		t.Errorf("after rewrap: %+v", ks)
	}
}

// testFirstDataKey: servers starting together on an empty store all end up
// with the same data key, whoever wrote it.
func testFirstDataKey(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 8
	got := make([]vigil.DataKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = s.CreateFirstDataKey(ctx, "kek-1", random(40)) })
	}
	wg.Wait()
	for i := range n {
		must(t, "CreateFirstDataKey", errs[i])
		if got[i].ID != got[0].ID || !bytes.Equal(got[i].Wrapped, got[0].Wrapped) {
			t.Errorf("concurrent first data keys differ: %d vs %d", got[i].ID, got[0].ID)
		}
	}
	ks, err := s.DataKeys(ctx)
	must(t, "DataKeys", err)
	if len(ks) != 1 {
		t.Fatalf("%d data keys after %d concurrent first starts, want 1", len(ks), n)
	}
	again, err := s.CreateFirstDataKey(ctx, "kek-1", random(40))
	must(t, "CreateFirstDataKey again", err)
	if again.ID != ks[0].ID || !bytes.Equal(again.Wrapped, ks[0].Wrapped) {
		t.Errorf("CreateFirstDataKey on a store with a key = %+v, want the existing key %d", again, ks[0].ID)
	}
}

func testRewrapIsAtomic(t *testing.T, s Store) {
	ctx := context.Background()
	w := random(40)
	id, err := s.CreateDataKey(ctx, "kek-1", w)
	must(t, "CreateDataKey", err)
	err = s.RewrapDataKeys(ctx, []vigil.DataKey{{ID: id, KEKID: "kek-2", Wrapped: random(40)}, {ID: id + 1000, KEKID: "kek-2", Wrapped: random(40)}})
	if err == nil {
		t.Fatal("rewrapping a data key that does not exist succeeded")
	}
	ks, err := s.DataKeys(ctx)
	must(t, "DataKeys", err)
	if len(ks) != 1 || ks[0].KEKID != "kek-1" || !bytes.Equal(ks[0].Wrapped, w) {
		t.Errorf("a failed rewrap changed a key: %+v", ks)
	}
}

func testEndpointKeys(t *testing.T, s Store) {
	ctx := context.Background()
	dk, err := s.CreateDataKey(ctx, "kek", random(40))
	must(t, "CreateDataKey", err)
	must(t, "EnsureEndpoint", s.EnsureEndpoint(ctx, "default"))
	must(t, "EnsureEndpoint again", s.EnsureEndpoint(ctx, "default"))
	must(t, "EnsureEndpoint", s.EnsureEndpoint(ctx, "alpha"))
	eps, err := s.ListEndpoints(ctx)
	must(t, "ListEndpoints", err)
	if len(eps) != 2 || eps[0].Name != "alpha" || eps[1].Name != "default" {
		t.Fatalf("endpoints after EnsureEndpoint: %+v", eps)
	}
	if eps[1].AuthMode != "key" || eps[1].PublicNetworkAccess != "enabled" || eps[1].Tags == nil || eps[1].Traffic == nil {
		t.Errorf("an ensured endpoint lacks the defaults: %+v", eps[1])
	}
	p, sec, other := random(32), random(32), random(32)
	keys := []vigil.StoredKey{
		{Endpoint: "default", Slot: vigil.SecondaryKey, Digest: sec, Sealed: random(60), DataKeyID: dk},
		{Endpoint: "default", Slot: vigil.PrimaryKey, Digest: p, Sealed: random(60), DataKeyID: dk},
		{Endpoint: "alpha", Slot: vigil.PrimaryKey, Digest: other, Sealed: random(60), DataKeyID: dk},
	}
	for _, k := range keys {
		must(t, "PutKey", s.PutKey(ctx, k))
	}
	got, err := s.Keys(ctx)
	must(t, "Keys", err)
	want := []vigil.StoredKey{keys[2], keys[1], keys[0]} // by endpoint, then slot
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Keys = %+v\nwant %+v", got, want)
	}
	// Replacing a slot's key.
	np := random(32)
	must(t, "PutKey replace", s.PutKey(ctx, vigil.StoredKey{Endpoint: "default", Slot: vigil.PrimaryKey, Digest: np, Sealed: []byte("s"), DataKeyID: dk}))
	got, _ = s.Keys(ctx)
	if len(got) != 3 || !bytes.Equal(got[1].Digest, np) || string(got[1].Sealed) != "s" {
		t.Errorf("after replacing the primary key: %+v", got)
	}
	// A digest in use by another slot is a conflict, and changes nothing.
	err = s.PutKey(ctx, vigil.StoredKey{Endpoint: "default", Slot: vigil.SecondaryKey, Digest: np, Sealed: []byte("x"), DataKeyID: dk})
	wantCode(t, "PutKey with a digest in use", err, vigil.EConflict, "that key is already in use; choose another")
	got, _ = s.Keys(ctx)
	if len(got) != 3 || !bytes.Equal(got[2].Digest, sec) {
		t.Errorf("a conflicting PutKey changed the keys: %+v", got)
	}
	// A key for an endpoint that does not exist is refused.
	if err := s.PutKey(ctx, vigil.StoredKey{Endpoint: "nope", Slot: vigil.PrimaryKey, Digest: random(32), Sealed: []byte("x"), DataKeyID: dk}); err == nil {
		t.Error("PutKey for a missing endpoint succeeded")
	}
}

func newEndpoint(name string) *vigil.Endpoint {
	return &vigil.Endpoint{
		Name: name, Description: "desc " + name, AuthMode: "key", PublicNetworkAccess: "enabled",
		Tags: map[string]string{"team": "ml"}, Traffic: map[string]int{}, MirrorTraffic: map[string]int{},
	}
}

func testEndpoints(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.GetEndpoint(ctx, "sales")
	wantCode(t, "GetEndpoint missing", err, vigil.ENotFound, "endpoint sales does not exist")
	e := newEndpoint("sales")
	e.AuthMode, e.PublicNetworkAccess = "aml_token", "disabled"
	before := time.Now().Add(-time.Second)
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, e))
	if e.CreatedAt.Before(before) || !e.CreatedAt.Equal(e.UpdatedAt) {
		t.Errorf("CreateEndpoint set times %v / %v", e.CreatedAt, e.UpdatedAt)
	}
	err = s.CreateEndpoint(ctx, newEndpoint("sales"))
	wantCode(t, "CreateEndpoint twice", err, vigil.EConflict, "endpoint sales already exists; use update to change it")
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, newEndpoint("Billing")))
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, newEndpoint("alpha")))
	got, err := s.GetEndpoint(ctx, "sales")
	must(t, "GetEndpoint", err)
	if got.Name != "sales" || got.Description != "desc sales" || got.AuthMode != "aml_token" || got.PublicNetworkAccess != "disabled" ||
		!reflect.DeepEqual(got.Tags, map[string]string{"team": "ml"}) || len(got.Traffic) != 0 || got.Traffic == nil || got.MirrorTraffic == nil {
		t.Errorf("GetEndpoint = %+v", got)
	}
	if !got.CreatedAt.Equal(e.CreatedAt) || !got.UpdatedAt.Equal(e.UpdatedAt) {
		t.Errorf("times do not round-trip: got %v/%v, stored %v/%v", got.CreatedAt, got.UpdatedAt, e.CreatedAt, e.UpdatedAt)
	}
	list, err := s.ListEndpoints(ctx)
	must(t, "ListEndpoints", err)
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if !reflect.DeepEqual(names, []string{"Billing", "alpha", "sales"}) { // bytewise order
		t.Errorf("ListEndpoints order %v", names)
	}
	upd, err := s.UpdateEndpoint(ctx, "sales", func(e *vigil.Endpoint, deps []string) error {
		if len(deps) != 0 {
			t.Errorf("deployments of a new endpoint: %v", deps)
		}
		e.Description = "changed"
		e.Tags = map[string]string{"a": "b"}
		return nil
	})
	must(t, "UpdateEndpoint", err)
	if upd.Description != "changed" || upd.UpdatedAt.Before(e.UpdatedAt) {
		t.Errorf("UpdateEndpoint returned %+v", upd)
	}
	got, _ = s.GetEndpoint(ctx, "sales")
	if got.Description != "changed" || !reflect.DeepEqual(got.Tags, map[string]string{"a": "b"}) || !got.CreatedAt.Equal(e.CreatedAt) {
		t.Errorf("after UpdateEndpoint: %+v", got)
	}
	_, err = s.UpdateEndpoint(ctx, "nope", func(*vigil.Endpoint, []string) error {
		t.Error("update called for a missing endpoint")
		return nil
	})
	wantCode(t, "UpdateEndpoint missing", err, vigil.ENotFound, "endpoint nope does not exist")
	must(t, "DeleteEndpoint", s.DeleteEndpoint(ctx, "alpha"))
	_, err = s.GetEndpoint(ctx, "alpha")
	wantCode(t, "GetEndpoint deleted", err, vigil.ENotFound, "")
	wantCode(t, "DeleteEndpoint twice", s.DeleteEndpoint(ctx, "alpha"), vigil.ENotFound, "endpoint alpha does not exist")
}

var errAbort = errors.New("abort")

func testUpdateEndpointRollsBack(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, newEndpoint("sales")))
	_, err := s.UpdateEndpoint(ctx, "sales", func(e *vigil.Endpoint, _ []string) error {
		e.Description = "should not stick"
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("UpdateEndpoint returned %v, want the callback's error", err)
	}
	got, _ := s.GetEndpoint(ctx, "sales")
	if got.Description != "desc sales" {
		t.Errorf("an aborted update was stored: %q", got.Description)
	}
	// A domain error from the callback comes back unchanged.
	_, err = s.UpdateEndpoint(ctx, "sales", func(*vigil.Endpoint, []string) error {
		return vigil.Errorf(vigil.EInvalid, "traffic must add up to 100")
	})
	wantCode(t, "UpdateEndpoint callback error", err, vigil.EInvalid, "traffic must add up to 100")
	// Concurrent read-modify-write updates do not lose each other's changes.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.UpdateEndpoint(ctx, "sales", func(e *vigil.Endpoint, _ []string) error {
				e.Tags[fmt.Sprint("k", i)] = "v"
				return nil
			})
			if err != nil {
				t.Errorf("concurrent UpdateEndpoint: %v", err)
			}
		}(i)
	}
	wg.Wait()
	got, _ = s.GetEndpoint(ctx, "sales")
	if len(got.Tags) != 9 {
		t.Errorf("concurrent updates lost changes: tags %v", got.Tags)
	}
}

func newDeployment(endpoint, name string) *vigil.SealedDeployment {
	return &vigil.SealedDeployment{Deployment: vigil.Deployment{
		Name: name, EndpointName: endpoint, Description: "d " + name, Model: "builtin:anomaly-detector",
		InstanceCount:        1,
		RequestSettings:      vigil.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 4},
		Tags:                 map[string]string{"v": "1"},
		EnvironmentVariables: map[string]string{"SECRET": "never stored in the spec"},
	}}
}

func testDeployments(t *testing.T, s Store) {
	ctx := context.Background()
	dk, err := s.CreateDataKey(ctx, "kek", random(40))
	must(t, "CreateDataKey", err)
	err = s.CreateDeployment(ctx, newDeployment("sales", "blue"), false)
	wantCode(t, "CreateDeployment without endpoint", err, vigil.ENotFound, "endpoint sales does not exist; create it first")
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, newEndpoint("sales")))
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, newEndpoint("other")))
	blue := newDeployment("sales", "blue")
	blue.EnvSealed, blue.DataKeyID = random(50), dk
	must(t, "CreateDeployment", s.CreateDeployment(ctx, blue, true))
	if blue.CreatedAt.IsZero() || !blue.CreatedAt.Equal(blue.UpdatedAt) {
		t.Errorf("CreateDeployment times %v/%v", blue.CreatedAt, blue.UpdatedAt)
	}
	e, _ := s.GetEndpoint(ctx, "sales")
	if !reflect.DeepEqual(e.Traffic, map[string]int{"blue": 100}) {
		t.Errorf("allTraffic: endpoint traffic %v", e.Traffic)
	}
	green := newDeployment("sales", "green") // no environment: stored as NULL
	green.EnvironmentVariables = nil
	must(t, "CreateDeployment", s.CreateDeployment(ctx, green, false))
	must(t, "CreateDeployment", s.CreateDeployment(ctx, newDeployment("other", "alpha"), false))
	e, _ = s.GetEndpoint(ctx, "sales")
	if !reflect.DeepEqual(e.Traffic, map[string]int{"blue": 100}) {
		t.Errorf("a deployment without allTraffic changed traffic: %v", e.Traffic)
	}
	err = s.CreateDeployment(ctx, newDeployment("sales", "blue"), false)
	wantCode(t, "CreateDeployment twice", err, vigil.EConflict, "deployment blue of endpoint sales already exists; use update to change it")

	got, err := s.GetDeployment(ctx, "sales", "blue")
	must(t, "GetDeployment", err)
	if got.Name != "blue" || got.EndpointName != "sales" || got.Description != "d blue" || got.RequestSettings.RequestTimeoutMS != 5000 ||
		!bytes.Equal(got.EnvSealed, blue.EnvSealed) || got.DataKeyID != dk || !got.CreatedAt.Equal(blue.CreatedAt) {
		t.Errorf("GetDeployment = %+v", got)
	}
	if got.EnvironmentVariables != nil {
		t.Errorf("environment variables were stored in the spec: %v", got.EnvironmentVariables)
	}
	g, err := s.GetDeployment(ctx, "sales", "green")
	must(t, "GetDeployment", err)
	if g.EnvSealed != nil || g.DataKeyID != 0 {
		t.Errorf("a deployment without environment: EnvSealed %v, DataKeyID %d", g.EnvSealed, g.DataKeyID)
	}
	_, err = s.GetDeployment(ctx, "sales", "nope")
	wantCode(t, "GetDeployment missing", err, vigil.ENotFound, "endpoint sales has no deployment nope")

	list, err := s.ListDeployments(ctx, "sales")
	must(t, "ListDeployments", err)
	if len(list) != 2 || list[0].Name != "blue" || list[1].Name != "green" {
		t.Errorf("ListDeployments(sales) = %v", deploymentNames(list))
	}
	all, err := s.ListDeployments(ctx, "")
	must(t, "ListDeployments all", err)
	if got := deploymentNames(all); !reflect.DeepEqual(got, []string{"other/alpha", "sales/blue", "sales/green"}) {
		t.Errorf("ListDeployments(\"\") = %v", got)
	}
	none, err := s.ListDeployments(ctx, "missing")
	if err != nil || len(none) != 0 {
		t.Errorf("ListDeployments(missing) = %v, %v; want none and no error", none, err)
	}
	_, err = s.UpdateEndpoint(ctx, "sales", func(e *vigil.Endpoint, deps []string) error {
		if !reflect.DeepEqual(deps, []string{"blue", "green"}) {
			t.Errorf("UpdateEndpoint saw deployments %v", deps)
		}
		return nil
	})
	must(t, "UpdateEndpoint", err)

	upd, err := s.UpdateDeployment(ctx, "sales", "green", func(d *vigil.SealedDeployment) error {
		d.Description = "new"
		d.InstanceCount = 3
		d.EnvSealed, d.DataKeyID = []byte("sealed"), dk
		return nil
	})
	must(t, "UpdateDeployment", err)
	if upd.Description != "new" {
		t.Errorf("UpdateDeployment returned %+v", upd)
	}
	g, _ = s.GetDeployment(ctx, "sales", "green")
	if g.Description != "new" || g.InstanceCount != 3 || string(g.EnvSealed) != "sealed" || g.DataKeyID != dk || !g.CreatedAt.Equal(green.CreatedAt) {
		t.Errorf("after UpdateDeployment: %+v", g)
	}
	_, err = s.UpdateDeployment(ctx, "sales", "nope", func(*vigil.SealedDeployment) error {
		t.Error("update called for a missing deployment")
		return nil
	})
	wantCode(t, "UpdateDeployment missing", err, vigil.ENotFound, "endpoint sales has no deployment nope")
}

func deploymentNames(ds []vigil.SealedDeployment) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.EndpointName+"/"+d.Name)
	}
	return out
}

func testDeploymentTrafficRules(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, newEndpoint("sales")))
	for _, n := range []string{"blue", "green", "shadow", "idle"} {
		must(t, "CreateDeployment", s.CreateDeployment(ctx, newDeployment("sales", n), n == "blue"))
	}
	_, err := s.UpdateEndpoint(ctx, "sales", func(e *vigil.Endpoint, _ []string) error {
		e.Traffic = map[string]int{"blue": 100, "idle": 0}
		e.MirrorTraffic = map[string]int{"shadow": 10, "idle": 0}
		return nil
	})
	must(t, "UpdateEndpoint", err)
	err = s.DeleteDeployment(ctx, "sales", "blue")
	wantCode(t, "delete a deployment with live traffic", err, vigil.EConflict,
		"deployment blue takes 100 % of endpoint sales's live traffic; move its traffic to another deployment first (vigil endpoint update -n sales --traffic ...)")
	err = s.DeleteDeployment(ctx, "sales", "shadow")
	wantCode(t, "delete a mirror target", err, vigil.EConflict, "deployment shadow receives mirrored traffic of endpoint sales; clear mirror_traffic first")
	must(t, "delete a deployment without traffic", s.DeleteDeployment(ctx, "sales", "green"))
	must(t, "delete a deployment at zero percent", s.DeleteDeployment(ctx, "sales", "idle"))
	e, _ := s.GetEndpoint(ctx, "sales")
	if !reflect.DeepEqual(e.Traffic, map[string]int{"blue": 100}) || !reflect.DeepEqual(e.MirrorTraffic, map[string]int{"shadow": 10}) {
		t.Errorf("zero-percent entries not dropped: traffic %v, mirror %v", e.Traffic, e.MirrorTraffic)
	}
	wantCode(t, "delete a deleted deployment", s.DeleteDeployment(ctx, "sales", "green"), vigil.ENotFound, "endpoint sales has no deployment green")
	wantCode(t, "delete in a missing endpoint", s.DeleteDeployment(ctx, "nope", "green"), vigil.ENotFound, "endpoint nope does not exist")
	list, _ := s.ListDeployments(ctx, "sales")
	if got := deploymentNames(list); !reflect.DeepEqual(got, []string{"sales/blue", "sales/shadow"}) {
		t.Errorf("deployments left: %v", got)
	}
}

func testUpdateDeploymentRollsBack(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, newEndpoint("sales")))
	must(t, "CreateDeployment", s.CreateDeployment(ctx, newDeployment("sales", "blue"), false))
	_, err := s.UpdateDeployment(ctx, "sales", "blue", func(d *vigil.SealedDeployment) error {
		d.Description = "should not stick"
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("UpdateDeployment returned %v, want the callback's error", err)
	}
	d, _ := s.GetDeployment(ctx, "sales", "blue")
	if d.Description != "d blue" {
		t.Errorf("an aborted update was stored: %q", d.Description)
	}
}

func testDeleteEndpointCascades(t *testing.T, s Store) {
	ctx := context.Background()
	dk, err := s.CreateDataKey(ctx, "kek", random(40))
	must(t, "CreateDataKey", err)
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, newEndpoint("sales")))
	must(t, "CreateEndpoint", s.CreateEndpoint(ctx, newEndpoint("keep")))
	must(t, "CreateDeployment", s.CreateDeployment(ctx, newDeployment("sales", "blue"), true))
	must(t, "PutKey", s.PutKey(ctx, vigil.StoredKey{Endpoint: "sales", Slot: vigil.PrimaryKey, Digest: random(32), Sealed: random(10), DataKeyID: dk}))
	must(t, "PutKey", s.PutKey(ctx, vigil.StoredKey{Endpoint: "keep", Slot: vigil.PrimaryKey, Digest: random(32), Sealed: random(10), DataKeyID: dk}))
	must(t, "DeleteEndpoint", s.DeleteEndpoint(ctx, "sales"))
	ks, _ := s.Keys(ctx)
	if len(ks) != 1 || ks[0].Endpoint != "keep" {
		t.Errorf("keys after deleting an endpoint: %+v", ks)
	}
	ds, _ := s.ListDeployments(ctx, "")
	if len(ds) != 0 {
		t.Errorf("deployments after deleting their endpoint: %v", deploymentNames(ds))
	}
	// The name is free again.
	must(t, "CreateEndpoint again", s.CreateEndpoint(ctx, newEndpoint("sales")))
}

func testSigningKeys(t *testing.T, s Store) {
	ctx := context.Background()
	dk, err := s.CreateDataKey(ctx, "kek", random(40))
	must(t, "CreateDataKey", err)
	ks, err := s.SigningKeys(ctx)
	if err != nil || len(ks) != 0 {
		t.Fatalf("SigningKeys on an empty store: %v, %v", ks, err)
	}
	for _, kid := range []string{"k1", "k2", "k3"} {
		must(t, "CreateSigningKey", s.CreateSigningKey(ctx, vigil.SigningKey{KID: kid, Sealed: []byte("sealed-" + kid), DataKeyID: dk}))
	}
	wantCode(t, "CreateSigningKey with a used kid", s.CreateSigningKey(ctx, vigil.SigningKey{KID: "k1", Sealed: []byte("x"), DataKeyID: dk}), vigil.EConflict, "create signing key: already exists")
	ks, err = s.SigningKeys(ctx)
	must(t, "SigningKeys", err)
	if len(ks) != 3 || ks[0].KID != "k3" || ks[2].KID != "k1" || string(ks[0].Sealed) != "sealed-k3" || ks[0].DataKeyID != dk || ks[0].CreatedAt.IsZero() {
		t.Fatalf("SigningKeys = %+v, want k3, k2, k1", ks)
	}
	must(t, "RetireSigningKeys", s.RetireSigningKeys(ctx, time.Now().Add(time.Hour), "k2"))
	ks, _ = s.SigningKeys(ctx)
	if len(ks) != 1 || ks[0].KID != "k2" {
		t.Errorf("after retiring all but k2: %+v", ks)
	}
	// Keys made after the cutoff stay.
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, vigil.SigningKey{KID: "k4", Sealed: []byte("s"), DataKeyID: dk}))
	must(t, "RetireSigningKeys", s.RetireSigningKeys(ctx, time.Now().Add(-time.Hour), ""))
	ks, _ = s.SigningKeys(ctx)
	if len(ks) != 2 || ks[0].KID != "k4" || ks[1].KID != "k2" {
		t.Errorf("a cutoff in the past retired keys: %+v", ks)
	}
}

func testAccessTokens(t *testing.T, s Store) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Nanosecond)
	toks := []vigil.AccessToken{
		{ID: "id-admin", Name: "bootstrap-admin", Principal: "admin", Hash: random(32)},
		{ID: "id-ci", Name: "ci", Principal: "token:id-ci", Hash: random(32), ExpiresAt: exp},
		{ID: "id-bot", Name: "bot", Principal: "token:id-bot", Hash: random(32)},
	}
	for _, tk := range toks {
		must(t, "CreateAccessToken", s.CreateAccessToken(ctx, tk))
		time.Sleep(2 * time.Millisecond) // distinct creation times, for the order
	}
	wantCode(t, "CreateAccessToken with a used hash", s.CreateAccessToken(ctx, vigil.AccessToken{ID: "x", Name: "x", Principal: "token:x", Hash: toks[0].Hash}), vigil.EConflict, "")
	got, err := s.AccessTokens(ctx)
	must(t, "AccessTokens", err)
	if len(got) != 3 || got[0].ID != "id-admin" || got[1].ID != "id-ci" || got[2].ID != "id-bot" {
		t.Fatalf("AccessTokens = %+v", got)
	}
	if !got[1].ExpiresAt.Equal(exp) || !got[0].ExpiresAt.IsZero() || got[0].CreatedAt.IsZero() || !bytes.Equal(got[1].Hash, toks[1].Hash) || got[1].Principal != "token:id-ci" || got[1].Name != "ci" {
		t.Errorf("tokens do not round-trip: %+v", got)
	}
	must(t, "RevokeAccessToken", s.RevokeAccessToken(ctx, "ci"))
	wantCode(t, "RevokeAccessToken twice", s.RevokeAccessToken(ctx, "ci"), vigil.ENotFound, "no live access token is named ci")
	wantCode(t, "RevokeAccessToken of the admin token", s.RevokeAccessToken(ctx, "bootstrap-admin"), vigil.ENotFound, "no live access token is named bootstrap-admin")
	must(t, "RevokeAccessTokens", s.RevokeAccessTokens(ctx, "admin"))
	must(t, "RevokeAccessTokens of nobody", s.RevokeAccessTokens(ctx, "token:nobody"))
	got, _ = s.AccessTokens(ctx)
	if len(got) != 1 || got[0].ID != "id-bot" {
		t.Errorf("live tokens after revoking: %+v", got)
	}
}

func testRoles(t *testing.T, s Store) {
	ctx := context.Background()
	roles, err := s.Roles(ctx)
	if err != nil || len(roles) != 0 {
		t.Fatalf("Roles on an empty store: %v, %v", roles, err)
	}
	r1 := rbac.Role{Name: "Scorer", Description: "scores", Actions: []string{"endpoints/score/action"}, NotActions: []string{"endpoints/delete"}}
	r2 := rbac.Role{Name: "auditor", Description: "reads the log", Actions: []string{"audit/read"}}
	must(t, "CreateRole", s.CreateRole(ctx, r1))
	must(t, "CreateRole", s.CreateRole(ctx, r2))
	wantCode(t, "CreateRole twice", s.CreateRole(ctx, r1), vigil.EConflict, "role Scorer already exists")
	wantCode(t, "CreateRole differing in case", s.CreateRole(ctx, rbac.Role{Name: "SCORER", Actions: []string{"*"}}), vigil.EConflict, "role SCORER already exists")
	roles, err = s.Roles(ctx)
	must(t, "Roles", err)
	if !reflect.DeepEqual(roles, []rbac.Role{r2, r1}) { // case-insensitive order
		t.Errorf("Roles = %+v", roles)
	}
}

func testAssignments(t *testing.T, s Store) {
	ctx := context.Background()
	as := []rbac.Assignment{
		{ID: "a1", Principal: "user:ann", Role: "Reader", Scope: "/"},
		{ID: "a2", Principal: "user:ann", Role: "Reader", Scope: "/endpoints/sales"},
		{ID: "a3", Principal: "group:ops", Role: "Owner", Scope: "/"},
	}
	for _, a := range as {
		must(t, "CreateAssignment", s.CreateAssignment(ctx, a))
		time.Sleep(2 * time.Millisecond)
	}
	err := s.CreateAssignment(ctx, rbac.Assignment{ID: "a4", Principal: "user:ann", Role: "reader", Scope: "/"})
	wantCode(t, "the same assignment again (role in another case)", err, vigil.EConflict, "user:ann already has role reader at /")
	wantCode(t, "an assignment with a used id", s.CreateAssignment(ctx, rbac.Assignment{ID: "a1", Principal: "user:bob", Role: "Reader", Scope: "/"}), vigil.EConflict, "")
	got, err := s.Assignments(ctx)
	must(t, "Assignments", err)
	if !reflect.DeepEqual(got, as) {
		t.Errorf("Assignments = %+v", got)
	}
	must(t, "DeleteAssignment", s.DeleteAssignment(ctx, "a2"))
	wantCode(t, "DeleteAssignment twice", s.DeleteAssignment(ctx, "a2"), vigil.ENotFound, "role assignment a2 does not exist")
	got, _ = s.Assignments(ctx)
	if !reflect.DeepEqual(got, []rbac.Assignment{as[0], as[2]}) {
		t.Errorf("after delete: %+v", got)
	}
}

var chainKey = bytes.Repeat([]byte{7}, 32)

func event(principal, action string, at time.Time) vigil.AuditEvent {
	return vigil.AuditEvent{Time: at, Principal: principal, Action: action, Scope: "/endpoints/sales", Source: "127.0.0.1", Outcome: vigil.OutcomeSuccess, Detail: "d"}
}

func verify(t *testing.T, s Store, wantN int) {
	t.Helper()
	ctx := context.Background()
	evs, err := s.ListAudit(ctx, vigil.AuditFilter{})
	must(t, "ListAudit", err)
	seq, mac, err := s.AuditHead(ctx)
	must(t, "AuditHead", err)
	if len(evs) != wantN || seq != int64(wantN) {
		t.Errorf("audit log has %d records, head %d; want %d", len(evs), seq, wantN)
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d: the sequence has a gap", i, ev.Seq)
		}
	}
	if p := audit.NewChain(chainKey).Verify(evs, seq, mac); p != nil {
		t.Errorf("audit chain does not verify: %+v", p)
	}
}

func testAudit(t *testing.T, s Store) {
	ctx := context.Background()
	seq, mac, err := s.AuditHead(ctx)
	if err != nil || seq != 0 || mac != nil {
		t.Errorf("AuditHead of an empty log = %d, %x, %v; want 0, nil, nil", seq, mac, err)
	}
	chain := audit.NewChain(chainKey)
	must(t, "AppendAudit of nothing to an empty log", s.AppendAudit(ctx, nil, chain.MAC, chain.HeadMAC))
	if seq, mac, _ := s.AuditHead(ctx); seq != 0 || mac != nil {
		t.Errorf("AppendAudit of nothing wrote a head: %d, %x", seq, mac)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600)) // nanoseconds and a zone
	must(t, "AppendAudit", s.AppendAudit(ctx, []vigil.AuditEvent{event("admin", "endpoints/write", at), event("user:ann", "endpoints/read", at.Add(time.Second))}, chain.MAC, chain.HeadMAC))
	must(t, "AppendAudit", s.AppendAudit(ctx, []vigil.AuditEvent{event("admin", "roles/write", at.Add(2*time.Second))}, chain.MAC, chain.HeadMAC))
	must(t, "AppendAudit of nothing", s.AppendAudit(ctx, nil, chain.MAC, chain.HeadMAC))
	evs, err := s.ListAudit(ctx, vigil.AuditFilter{})
	must(t, "ListAudit", err)
	if len(evs) != 3 {
		t.Fatalf("ListAudit = %d records", len(evs))
	}
	e0 := evs[0]
	if e0.Seq != 1 || !e0.Time.Equal(at) || e0.Time.Location() != time.UTC || e0.Principal != "admin" || e0.Action != "endpoints/write" ||
		e0.Scope != "/endpoints/sales" || e0.Source != "127.0.0.1" || e0.Outcome != vigil.OutcomeSuccess || e0.Detail != "d" || len(e0.MAC) != 32 {
		t.Errorf("first record = %+v", e0)
	}
	verify(t, s, 3)
	seq, mac, _ = s.AuditHead(ctx)
	if seq != 3 || !bytes.Equal(mac, chain.HeadMAC(3, evs[2].MAC)) {
		t.Errorf("AuditHead = %d, %x; want 3 and the head MAC of the last record", seq, mac)
	}
	// Tampering through Exec is caught by the chain.
	must(t, "Exec", s.Exec(ctx, `UPDATE audit_events SET detail = ? WHERE seq = ?`, "tampered", 2))
	evs, _ = s.ListAudit(ctx, vigil.AuditFilter{})
	seq, mac, _ = s.AuditHead(ctx)
	if p := chain.Verify(evs, seq, mac); p == nil || p.Seq != 2 || p.Kind != "altered" {
		t.Errorf("a tampered record: problem %+v, want record 2 altered", p)
	}
}

func testAuditFilters(t *testing.T, s Store) {
	ctx := context.Background()
	chain := audit.NewChain(chainKey)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var evs []vigil.AuditEvent
	for i := 0; i < 10; i++ {
		p := "admin"
		if i%2 == 1 {
			p = "user:ann"
		}
		a := "endpoints/read"
		if i%3 == 0 {
			a = "endpoints/write"
		}
		// Fractions of a second, so records within a second are ordered.
		evs = append(evs, event(p, a, t0.Add(time.Duration(i)*time.Hour+time.Duration(i)*100*time.Millisecond)))
	}
	must(t, "AppendAudit", s.AppendAudit(ctx, evs, chain.MAC, chain.HeadMAC))
	seqs := func(f vigil.AuditFilter) []int64 {
		t.Helper()
		got, err := s.ListAudit(ctx, f)
		must(t, "ListAudit", err)
		var out []int64
		for _, e := range got {
			out = append(out, e.Seq)
		}
		return out
	}
	tests := []struct {
		name string
		f    vigil.AuditFilter
		want []int64
	}{
		{"all", vigil.AuditFilter{}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"principal", vigil.AuditFilter{Principal: "user:ann"}, []int64{2, 4, 6, 8, 10}},
		{"action", vigil.AuditFilter{Action: "endpoints/write"}, []int64{1, 4, 7, 10}},
		{"principal+action", vigil.AuditFilter{Principal: "admin", Action: "endpoints/write"}, []int64{1, 7}},
		{"since-within-a-second", vigil.AuditFilter{Since: t0.Add(4*time.Hour + 400*time.Millisecond + time.Nanosecond)}, []int64{6, 7, 8, 9, 10}},
		{"since", vigil.AuditFilter{Since: t0.Add(7*time.Hour + 700*time.Millisecond)}, []int64{8, 9, 10}},
		{"since-between-seconds", vigil.AuditFilter{Since: t0.Add(7*time.Hour + time.Second)}, []int64{9, 10}},
		{"since-zone", vigil.AuditFilter{Since: t0.Add(8*time.Hour + 800*time.Millisecond).In(time.FixedZone("y", -5*3600))}, []int64{9, 10}},
		// Not asserted: a Since between two records within the same second
		// (07:00:00.701 against a record at 07:00:00.7). Both stores compare
		// RFC 3339 text whose trailing zeros are trimmed, so ".7Z" sorts
		// after ".701Z"; see the report on fixed-width timestamps.
		{"limit-newest-first-then-ascending", vigil.AuditFilter{Limit: 3}, []int64{8, 9, 10}},
		{"limit+principal", vigil.AuditFilter{Principal: "admin", Limit: 2}, []int64{7, 9}},
		{"limit-larger", vigil.AuditFilter{Limit: 100, Action: "endpoints/write"}, []int64{1, 4, 7, 10}},
		{"none", vigil.AuditFilter{Principal: "nobody"}, nil},
	}
	for _, tt := range tests {
		if got := seqs(tt.f); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: seqs %v, want %v", tt.name, got, tt.want)
		}
	}
}

func testAuditConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	chain := audit.NewChain(chainKey)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				batch := []vigil.AuditEvent{event(fmt.Sprintf("user:w%d", w), "endpoints/read", time.Now())}
				if i%3 == 0 {
					batch = append(batch, event(fmt.Sprintf("user:w%d", w), "endpoints/write", time.Now()))
				}
				if err := s.AppendAudit(ctx, batch, chain.MAC, chain.HeadMAC); err != nil {
					t.Errorf("writer %d: AppendAudit: %v", w, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	verify(t, s, writers*(each+4)) // i%3==0 for i = 0, 3, 6, 9
}

func testAuditAppendRollsBack(t *testing.T, s Store) {
	ctx := context.Background()
	chain := audit.NewChain(chainKey)
	must(t, "AppendAudit", s.AppendAudit(ctx, []vigil.AuditEvent{event("admin", "a", time.Now())}, chain.MAC, chain.HeadMAC))
	// A batch that fails half way (the context ends) leaves no record and
	// does not move the head.
	cctx, cancel := context.WithCancel(ctx)
	n := 0
	err := s.AppendAudit(cctx, []vigil.AuditEvent{event("admin", "b", time.Now()), event("admin", "c", time.Now())}, func(prev []byte, ev vigil.AuditEvent) []byte {
		n++
		if n == 2 {
			cancel()
		}
		return chain.MAC(prev, ev)
	}, chain.HeadMAC)
	cancel()
	if err == nil {
		t.Log("the store finished the batch before noticing the cancellation")
		verify(t, s, 3)
		return
	}
	verify(t, s, 1)
	must(t, "AppendAudit after a failed one", s.AppendAudit(ctx, []vigil.AuditEvent{event("admin", "d", time.Now())}, chain.MAC, chain.HeadMAC))
	verify(t, s, 2)
}

// testAuditBrokenHead: an append after records were cut from the end (head
// left alone, moved back with a made-up MAC, or deleted) does not cover the
// cut with a fresh head: it leaves a gap in seq that Verify reports.
func testAuditBrokenHead(t *testing.T, s Store) {
	tests := []struct {
		name    string
		tamper  []string
		wantSeq int64 // the first record Verify reports missing
		newSeq  int64 // the seq of the record appended after the tampering
	}{
		{"cut-head-untouched", []string{`DELETE FROM audit_events WHERE seq > 4`}, 5, 8},
		// The head moved back to the last remaining record, with that
		// record's MAC (the form heads had before they were keyed).
		{"cut-head-moved-back", []string{`DELETE FROM audit_events WHERE seq > 4`, `UPDATE audit_head SET seq = 4, mac = (SELECT mac FROM audit_events WHERE seq = 4)`}, 5, 6},
		{"head-deleted", []string{`DELETE FROM audit_events WHERE seq > 4`, `DELETE FROM audit_head`}, 5, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			chain := audit.NewChain(chainKey)
			must(t, "Exec", s.Exec(ctx, `DELETE FROM audit_events`))
			must(t, "Exec", s.Exec(ctx, `DELETE FROM audit_head`))
			var evs []vigil.AuditEvent
			for i := 0; i < 6; i++ {
				evs = append(evs, event("admin", "a", time.Now()))
			}
			must(t, "AppendAudit", s.AppendAudit(ctx, evs, chain.MAC, chain.HeadMAC))
			for _, q := range tt.tamper {
				must(t, q, s.Exec(ctx, q))
			}
			must(t, "AppendAudit", s.AppendAudit(ctx, []vigil.AuditEvent{event("admin", "b", time.Now())}, chain.MAC, chain.HeadMAC))
			got, _ := s.ListAudit(ctx, vigil.AuditFilter{})
			seq, mac, _ := s.AuditHead(ctx)
			if n := len(got); n != 5 || got[n-1].Seq != tt.newSeq || seq != tt.newSeq {
				t.Fatalf("after the append: %d records, the newest %d, head %d; want 5, %d, %d", n, got[n-1].Seq, seq, tt.newSeq, tt.newSeq)
			}
			if p := chain.Verify(got, seq, mac); p == nil || p.Seq != tt.wantSeq || p.Kind != "missing" {
				t.Errorf("Verify = %+v, want record %d missing", p, tt.wantSeq)
			}
		})
	}
}

// testAuditReplaceHead: ReplaceAuditHead swaps the head's MAC only while
// the head is still the one given.
func testAuditReplaceHead(t *testing.T, s Store) {
	ctx := context.Background()
	chain := audit.NewChain(chainKey)
	if ok, err := s.ReplaceAuditHead(ctx, 0, nil, []byte("x")); ok || err != nil {
		t.Errorf("ReplaceAuditHead without a head = %v, %v; want false, nil", ok, err)
	}
	must(t, "AppendAudit", s.AppendAudit(ctx, []vigil.AuditEvent{event("admin", "a", time.Now())}, chain.MAC, chain.HeadMAC))
	seq, mac, _ := s.AuditHead(ctx)
	next := bytes.Repeat([]byte{5}, 32)
	if ok, err := s.ReplaceAuditHead(ctx, seq, []byte("stale"), next); ok || err != nil {
		t.Errorf("ReplaceAuditHead of a stale MAC = %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.ReplaceAuditHead(ctx, seq+1, mac, next); ok || err != nil {
		t.Errorf("ReplaceAuditHead of a stale seq = %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.ReplaceAuditHead(ctx, seq, mac, next); !ok || err != nil {
		t.Errorf("ReplaceAuditHead = %v, %v; want true, nil", ok, err)
	}
	if seq2, mac2, _ := s.AuditHead(ctx); seq2 != seq || !bytes.Equal(mac2, next) {
		t.Errorf("AuditHead after ReplaceAuditHead = %d, %x", seq2, mac2)
	}
}

func testMaintenance(t *testing.T, s Store) {
	ctx := context.Background()
	res, err := s.IntegrityCheck(ctx)
	if err != nil || res != "ok" {
		t.Errorf("IntegrityCheck = %q, %v", res, err)
	}
	must(t, "Exec with placeholders", s.Exec(ctx, `INSERT INTO endpoints (name, created_at, updated_at) VALUES (?, ?, ?)`, "raw", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
	e, err := s.GetEndpoint(ctx, "raw")
	must(t, "GetEndpoint", err)
	if e.AuthMode != "key" || !e.CreatedAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("an endpoint inserted with Exec: %+v", e)
	}
	if err := s.Exec(ctx, `THIS IS NOT SQL`); err == nil {
		t.Error("Exec of nonsense succeeded")
	}
}
