package vigil

import (
	"sort"
	"time"
)

// Auth modes of an endpoint's data plane.
const (
	AuthKey      = "key"       // primary and secondary keys
	AuthAMLToken = "aml_token" // short-lived tokens Vigil issues
	AuthAADToken = "aad_token" // tokens from the user's OIDC identity provider
)

// Network access settings.
const (
	AccessEnabled  = "enabled"
	AccessDisabled = "disabled"
)

// BuiltinAnomalyDetector is the model reference of the built-in anomaly
// detector.
const BuiltinAnomalyDetector = "builtin:anomaly-detector"

// ProvisioningSucceeded is the provisioning state of every stored resource:
// Vigil provisions synchronously.
const ProvisioningSucceeded = "Succeeded"

// Endpoint is a named scoring endpoint: how callers authenticate, where they
// may call from, and how its traffic is split among its deployments.
type Endpoint struct {
	Name                string            `json:"name"`
	Description         string            `json:"description"`
	Tags                map[string]string `json:"tags"`
	AuthMode            string            `json:"auth_mode"`
	PublicNetworkAccess string            `json:"public_network_access"`
	Traffic             map[string]int    `json:"traffic"`
	MirrorTraffic       map[string]int    `json:"mirror_traffic"`
	CreatedAt           time.Time         `json:"created_at"`
	UpdatedAt           time.Time         `json:"updated_at"`
}

// Validate checks the endpoint's own fields (not its traffic against its
// deployments; see ValidateTraffic).
func (e *Endpoint) Validate() error {
	if err := ValidateEndpointName(e.Name); err != nil {
		return err
	}
	switch e.AuthMode {
	case AuthKey, AuthAMLToken, AuthAADToken:
	default:
		return Errorf(EInvalid, "auth_mode must be key, aml_token or aad_token, not %q", truncate(e.AuthMode))
	}
	switch e.PublicNetworkAccess {
	case AccessEnabled, AccessDisabled:
	default:
		return Errorf(EInvalid, "public_network_access must be enabled or disabled, not %q", truncate(e.PublicNetworkAccess))
	}
	if len(e.Description) > 1024 {
		return Errorf(EInvalid, "description must be at most 1024 characters")
	}
	return validateTags(e.Tags)
}

// ValidateTraffic checks the endpoint's traffic and mirror_traffic against
// the names of its deployments: traffic percents are 0-100 and sum to 0 or
// 100; at most one mirror target, 1-50 %, never a deployment that takes live
// traffic.
func (e *Endpoint) ValidateTraffic(deployments []string) error {
	have := make(map[string]bool, len(deployments))
	for _, d := range deployments {
		have[d] = true
	}
	sum := 0
	for _, name := range sortedKeys(e.Traffic) {
		p := e.Traffic[name]
		if !have[name] {
			return Errorf(EInvalid, "traffic.%s: endpoint %s has no deployment %q; create it first", truncate(name), e.Name, truncate(name))
		}
		if p < 0 || p > 100 {
			return Errorf(EInvalid, "traffic.%s: %d is not a percent from 0 to 100", name, p)
		}
		sum += p
	}
	if sum != 0 && sum != 100 {
		return Errorf(EInvalid, "traffic percents sum to %d; they must sum to 0 or 100", sum)
	}
	if len(e.MirrorTraffic) > 1 {
		return Errorf(EInvalid, "mirror_traffic may name one deployment only")
	}
	for name, p := range e.MirrorTraffic {
		if !have[name] {
			return Errorf(EInvalid, "mirror_traffic.%s: endpoint %s has no deployment %q", truncate(name), e.Name, truncate(name))
		}
		if p < 0 || p > 50 {
			return Errorf(EInvalid, "mirror_traffic.%s: %d %% is over the 50 %% limit (or negative)", name, p)
		}
		if e.Traffic[name] > 0 && p > 0 {
			return Errorf(EInvalid, "mirror_traffic.%s: deployment %s takes live traffic (%d %%); a deployment gets live or mirrored traffic, not both", name, name, e.Traffic[name])
		}
	}
	return nil
}

// RequestSettings limit how a deployment serves requests.
type RequestSettings struct {
	RequestTimeoutMS                 int `json:"request_timeout_ms"`
	MaxConcurrentRequestsPerInstance int `json:"max_concurrent_requests_per_instance"`
}

// Probe is a container probe's settings, kept for Azure ML compatibility.
type Probe struct {
	InitialDelay     int `json:"initial_delay"`
	Period           int `json:"period"`
	Timeout          int `json:"timeout"`
	SuccessThreshold int `json:"success_threshold"`
	FailureThreshold int `json:"failure_threshold"`
}

// DefaultProbe returns Azure ML's default probe settings.
func DefaultProbe() Probe {
	return Probe{InitialDelay: 10, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}
}

// Deployment is a model served behind an endpoint.
type Deployment struct {
	Name                      string            `json:"name"`
	EndpointName              string            `json:"endpoint_name"`
	Description               string            `json:"description"`
	Model                     string            `json:"model"`
	InstanceCount             int               `json:"instance_count"`
	RequestSettings           RequestSettings   `json:"request_settings"`
	EgressPublicNetworkAccess string            `json:"egress_public_network_access"`
	EnvironmentVariables      map[string]string `json:"environment_variables"`
	LivenessProbe             Probe             `json:"liveness_probe"`
	ReadinessProbe            Probe             `json:"readiness_probe"`
	Tags                      map[string]string `json:"tags"`
	CreatedAt                 time.Time         `json:"created_at"`
	UpdatedAt                 time.Time         `json:"updated_at"`
}

// Azure-only fields: keys of Azure ML's online endpoint and deployment
// schemas that mean nothing to Vigil. Files and requests that carry them
// are accepted with a warning and the keys are dropped, so real Azure files
// load unchanged. "$schema" is dropped silently.
var (
	AzureOnlyEndpointFields   = []string{"compute", "identity", "kind"}
	AzureOnlyDeploymentFields = []string{"model_mount_path", "code_configuration", "environment", "instance_type", "app_insights_enabled", "scale_settings", "data_collector", "type"}
	// AzureOnlyRequestSettings are the Azure-only keys of a deployment's
	// request_settings.
	AzureOnlyRequestSettings = []string{"max_queue_wait_ms"}
)

// Deployment limits.
const (
	MaxInstanceCount     = 20
	MaxRequestTimeoutMS  = 180000
	MaxConcurrentPerInst = 1000
)

// Validate checks the deployment's fields.
func (d *Deployment) Validate() error {
	if err := ValidateDeploymentName(d.Name); err != nil {
		return err
	}
	if d.Model != BuiltinAnomalyDetector {
		return Errorf(EInvalid, "model: %q is not available; this Vigil serves %s", truncate(d.Model), BuiltinAnomalyDetector)
	}
	if d.InstanceCount < 1 || d.InstanceCount > MaxInstanceCount {
		return Errorf(EInvalid, "instance_count must be from 1 to %d", MaxInstanceCount)
	}
	rs := d.RequestSettings
	if rs.RequestTimeoutMS < 1 || rs.RequestTimeoutMS > MaxRequestTimeoutMS {
		return Errorf(EInvalid, "request_settings.request_timeout_ms must be from 1 to %d", MaxRequestTimeoutMS)
	}
	if rs.MaxConcurrentRequestsPerInstance < 1 || rs.MaxConcurrentRequestsPerInstance > MaxConcurrentPerInst {
		return Errorf(EInvalid, "request_settings.max_concurrent_requests_per_instance must be from 1 to %d", MaxConcurrentPerInst)
	}
	switch d.EgressPublicNetworkAccess {
	case AccessEnabled, AccessDisabled:
	default:
		return Errorf(EInvalid, "egress_public_network_access must be enabled or disabled, not %q", truncate(d.EgressPublicNetworkAccess))
	}
	for name, p := range map[string]Probe{"liveness_probe": d.LivenessProbe, "readiness_probe": d.ReadinessProbe} {
		if p.InitialDelay < 0 || p.Period < 0 || p.Timeout < 0 || p.SuccessThreshold < 1 || p.FailureThreshold < 1 {
			return Errorf(EInvalid, "%s: delays must not be negative and thresholds must be at least 1", name)
		}
	}
	for k, v := range d.EnvironmentVariables {
		if k == "" || len(k) > 256 || len(v) > 32768 {
			return Errorf(EInvalid, "environment_variables: names must be 1-256 characters and values at most 32768")
		}
	}
	if len(d.Description) > 1024 {
		return Errorf(EInvalid, "description must be at most 1024 characters")
	}
	return validateTags(d.Tags)
}

// Capacity is how many requests the deployment serves at once.
func (d *Deployment) Capacity() int {
	return d.InstanceCount * d.RequestSettings.MaxConcurrentRequestsPerInstance
}

func validateTags(tags map[string]string) error {
	if len(tags) > 50 {
		return Errorf(EInvalid, "tags: at most 50")
	}
	for k, v := range tags {
		if k == "" || len(k) > 256 || len(v) > 256 {
			return Errorf(EInvalid, "tags: names must be 1-256 characters and values at most 256")
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string { return sortedKeys(m) }
