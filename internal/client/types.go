package client

import "time"

// Endpoint is a scoring endpoint as the management API shows it. The fields
// are the snake_case keys of Azure ML's online-endpoint YAML.
type Endpoint struct {
	Name                string            `json:"name"`
	Description         string            `json:"description"`
	Tags                map[string]string `json:"tags"`
	AuthMode            string            `json:"auth_mode"`
	PublicNetworkAccess string            `json:"public_network_access"`
	Traffic             map[string]int    `json:"traffic"`
	MirrorTraffic       map[string]int    `json:"mirror_traffic"`
	ScoringURI          string            `json:"scoring_uri"`
	AnomalyDetectorURI  string            `json:"anomaly_detector_uri"`
	ProvisioningState   string            `json:"provisioning_state"`
	CreatedAt           time.Time         `json:"created_at"`
	UpdatedAt           time.Time         `json:"updated_at"`
}

// endpointCreate is the body of POST /api/v1/endpoints: only the fields a
// caller may set, empty ones left out so the server applies its defaults.
type endpointCreate struct {
	Name                string            `json:"name"`
	Description         string            `json:"description,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
	AuthMode            string            `json:"auth_mode,omitempty"`
	PublicNetworkAccess string            `json:"public_network_access,omitempty"`
}

// RequestSettings limit how a deployment serves requests.
type RequestSettings struct {
	RequestTimeoutMS                 int `json:"request_timeout_ms,omitempty"`
	MaxConcurrentRequestsPerInstance int `json:"max_concurrent_requests_per_instance,omitempty"`
}

// Probe is a container probe's settings, kept for Azure ML compatibility.
type Probe struct {
	InitialDelay     int `json:"initial_delay"`
	Period           int `json:"period"`
	Timeout          int `json:"timeout"`
	SuccessThreshold int `json:"success_threshold"`
	FailureThreshold int `json:"failure_threshold"`
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
	LivenessProbe             *Probe            `json:"liveness_probe"`
	ReadinessProbe            *Probe            `json:"readiness_probe"`
	Tags                      map[string]string `json:"tags"`
	ProvisioningState         string            `json:"provisioning_state"`
	CreatedAt                 time.Time         `json:"created_at"`
	UpdatedAt                 time.Time         `json:"updated_at"`
}

// deploymentCreate is the body of POST .../deployments: the settable fields,
// zero values left out so the server applies its defaults. A probe is sent
// whole when given.
type deploymentCreate struct {
	Name                      string            `json:"name"`
	EndpointName              string            `json:"endpoint_name,omitempty"`
	Description               string            `json:"description,omitempty"`
	Model                     string            `json:"model,omitempty"`
	InstanceCount             int               `json:"instance_count,omitempty"`
	RequestSettings           *RequestSettings  `json:"request_settings,omitempty"`
	EgressPublicNetworkAccess string            `json:"egress_public_network_access,omitempty"`
	EnvironmentVariables      map[string]string `json:"environment_variables,omitempty"`
	LivenessProbe             *Probe            `json:"liveness_probe,omitempty"`
	ReadinessProbe            *Probe            `json:"readiness_probe,omitempty"`
	Tags                      map[string]string `json:"tags,omitempty"`
}

// Keys are an endpoint's two keys, as listKeys returns them.
type Keys struct {
	PrimaryKey   string `json:"primaryKey"`
	SecondaryKey string `json:"secondaryKey"`
}

// Token is a short-lived aml_token for an endpoint.
type Token struct {
	AccessToken         string    `json:"accessToken"`
	TokenType           string    `json:"tokenType"`
	ExpiryTimeUTC       time.Time `json:"expiryTimeUtc"`
	RefreshAfterTimeUTC time.Time `json:"refreshAfterTimeUtc"`
}

// SigningKey identifies the key new aml_tokens are signed with.
type SigningKey struct {
	KID string `json:"kid"`
}

// LogEntry is one request in a deployment's request log. It never holds a
// payload or a secret.
type LogEntry struct {
	Time       time.Time `json:"time"`
	RequestID  string    `json:"request_id"`
	Route      string    `json:"route"`
	Status     int       `json:"status"`
	LatencyMS  float64   `json:"latency_ms"`
	Caller     string    `json:"caller"`
	Deployment string    `json:"deployment"`
	Mirrored   bool      `json:"mirrored"`
}

// ScoreResult is a scoring call's answer, whatever its status.
type ScoreResult struct {
	// Status is the HTTP status.
	Status int
	// Deployment is the azureml-model-deployment header: the deployment
	// that served the call.
	Deployment string
	// Body is the response body.
	Body []byte
}
