package score_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/netpolicy"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/store/sqlite"
	"github.com/vigilhq/vigil/internal/vigil"
)

// serveOn starts an HTTP server on ip and counts its requests.
func serveOn(t *testing.T, ip string, hits *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestDeploymentEgress checks a deployment's one outbound client: with
// egress_public_network_access disabled it reaches private networks only,
// every refusal reaches the audit hook with the deployment's scope, and a
// settings change takes effect on the next call.
func TestDeploymentEgress(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir()+"/vigil.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k, _ := kek.New(bytes.Repeat([]byte{3}, 32))
	ring, id, _ := control.OpenKeyring(ctx, db, k)
	plane := score.NewPlane(ring, db)
	plane.Egress = netpolicy.Egress{Private: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	var refused []string
	plane.OnEgressRefusal = func(scope string, r netpolicy.Refusal) { refused = append(refused, scope) }
	svc := &control.Service{Store: db, Ring: ring, DataKeyID: id, Changed: plane.Reload}
	if _, err := svc.CreateEndpoint(ctx, vigil.Endpoint{Name: "ep-egress"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateDeployment(ctx, vigil.Deployment{Name: "blue", EndpointName: "ep-egress", EgressPublicNetworkAccess: vigil.AccessDisabled}, true); err != nil {
		t.Fatal(err)
	}
	var privHits, pubHits atomic.Int64
	private := serveOn(t, "127.0.0.1", &privHits)
	public := serveOn(t, "127.0.0.2", &pubHits)
	dep := plane.Deployment("ep-egress", "blue")
	get := func(url string) error {
		resp, err := dep.HTTPClient().Get(url + "/model?sig=secret")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(private); err != nil {
		t.Errorf("private destination: %v", err)
	}
	err = get(public)
	var ref *netpolicy.Refusal
	if !errors.As(err, &ref) || pubHits.Load() != 0 {
		t.Fatalf("public destination with egress disabled: err %v, hits %d", err, pubHits.Load())
	}
	if len(refused) != 1 || refused[0] != "/endpoints/ep-egress/deployments/blue" {
		t.Errorf("refusals heard: %v", refused)
	}
	enabled := vigil.AccessEnabled
	if _, err := svc.UpdateDeployment(ctx, "ep-egress", "blue", control.DeploymentPatch{EgressPublicNetworkAccess: &enabled}); err != nil {
		t.Fatal(err)
	}
	if err := get(public); err != nil || pubHits.Load() != 1 {
		t.Errorf("after enabling public egress: err %v, hits %d", err, pubHits.Load())
	}
}
