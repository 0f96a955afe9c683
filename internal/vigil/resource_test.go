package vigil

import (
	"strings"
	"testing"
)

func TestValidateTraffic(t *testing.T) {
	deps := []string{"blue", "green", "red"}
	tests := []struct {
		name    string
		traffic map[string]int
		mirror  map[string]int
		wantErr string
	}{
		{"ok/empty", nil, nil, ""},
		{"ok/all-zero", map[string]int{"blue": 0, "green": 0}, nil, ""},
		{"ok/hundred", map[string]int{"blue": 100}, nil, ""},
		{"ok/split", map[string]int{"blue": 90, "green": 10}, nil, ""},
		{"ok/three-way", map[string]int{"blue": 50, "green": 30, "red": 20}, nil, ""},
		{"ok/mirror-to-zero-percent", map[string]int{"blue": 100, "green": 0}, map[string]int{"green": 10}, ""},
		{"ok/mirror-fifty", map[string]int{"blue": 100}, map[string]int{"green": 50}, ""},
		{"fail/sum-below-100", map[string]int{"blue": 90}, nil, "sum to 90"},
		{"fail/sum-above-100", map[string]int{"blue": 90, "green": 20}, nil, "sum to 110"},
		{"fail/negative", map[string]int{"blue": 110, "green": -10}, nil, "not a percent"},
		{"fail/unknown-deployment", map[string]int{"purple": 100}, nil, "no deployment \"purple\""},
		{"fail/mirror-over-50", map[string]int{"blue": 100}, map[string]int{"green": 51}, "50 %"},
		{"fail/mirror-two-targets", map[string]int{"blue": 100}, map[string]int{"green": 10, "red": 10}, "one deployment"},
		{"fail/mirror-takes-live-traffic", map[string]int{"blue": 90, "green": 10}, map[string]int{"green": 10}, "live or mirrored"},
		{"fail/mirror-unknown", map[string]int{"blue": 100}, map[string]int{"purple": 10}, "no deployment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Endpoint{Name: "ep-one", Traffic: tt.traffic, MirrorTraffic: tt.mirror}
			err := e.ValidateTraffic(deps)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ErrorCode(err) != EInvalid {
				t.Fatalf("err = %v, want invalid mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestEndpointNames(t *testing.T) {
	for _, ok := range []string{"abc", "sales-eu", "A1b2", "a-b-c", strings.Repeat("a", 32)} {
		if err := ValidateEndpointName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"ab", strings.Repeat("a", 33), "1abc", "-abc", "abc-", "a--b", "a_b", "a b", "ä-bc", ""} {
		if err := ValidateEndpointName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDeploymentValidate(t *testing.T) {
	base := func() Deployment {
		return Deployment{Name: "blue", Model: BuiltinAnomalyDetector, InstanceCount: 1,
			RequestSettings:           RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 1},
			EgressPublicNetworkAccess: AccessEnabled, LivenessProbe: DefaultProbe(), ReadinessProbe: DefaultProbe()}
	}
	tests := []struct {
		name    string
		change  func(*Deployment)
		wantErr string
	}{
		{"ok/defaults", func(*Deployment) {}, ""},
		{"ok/max-timeout", func(d *Deployment) { d.RequestSettings.RequestTimeoutMS = 180000 }, ""},
		{"fail/timeout-over-max", func(d *Deployment) { d.RequestSettings.RequestTimeoutMS = 180001 }, "request_timeout_ms"},
		{"fail/zero-concurrency", func(d *Deployment) { d.RequestSettings.MaxConcurrentRequestsPerInstance = 0 }, "max_concurrent_requests_per_instance"},
		{"fail/instances", func(d *Deployment) { d.InstanceCount = 21 }, "instance_count"},
		{"fail/short-name-says-deployment", func(d *Deployment) { d.Name = "bl" }, "deployment name must be 3 to 32 characters long"},
		{"fail/bad-name-says-deployment", func(d *Deployment) { d.Name = "1blue" }, `deployment name "1blue" must start with a letter`},
		{"fail/azureml-model", func(d *Deployment) { d.Model = "azureml:m:1" }, "model"},
		{"fail/egress", func(d *Deployment) { d.EgressPublicNetworkAccess = "maybe" }, "egress_public_network_access"},
		{"fail/probe-threshold", func(d *Deployment) { d.LivenessProbe.FailureThreshold = 0 }, "liveness_probe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base()
			tt.change(&d)
			err := d.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to name %s", err, tt.wantErr)
			}
		})
	}
}
