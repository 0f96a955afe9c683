package control

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/vigil"
)

// Store is what the control plane needs of a store.
type Store interface {
	KeyStore
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

	CreateSigningKey(ctx context.Context, k vigil.SigningKey) error
	SigningKeys(ctx context.Context) ([]vigil.SigningKey, error)
	RetireSigningKeys(ctx context.Context, before time.Time, keep string) error

	CreateAccessToken(ctx context.Context, t vigil.AccessToken) error
	RevokeAccessTokens(ctx context.Context, principal string) error
	AccessTokens(ctx context.Context) ([]vigil.AccessToken, error)
}

// DefaultTokenLifetime is how long an aml_token is valid.
const DefaultTokenLifetime = time.Hour

// Service carries out control-plane changes. Changed is called after every
// change that the data plane must see (endpoints, deployments, keys,
// signing keys), so it reloads its view.
type Service struct {
	Store     Store
	Ring      *credential.Keyring
	DataKeyID int64
	Now       func() time.Time
	// TokenLifetime of aml_tokens (DefaultTokenLifetime when zero).
	TokenLifetime time.Duration
	Changed       func(ctx context.Context) error
	// Audit records every change and every credential read.
	Audit Recorder
}

// Recorder records audit events.
type Recorder interface {
	Record(ctx context.Context, ev vigil.AuditEvent) error
}

// audited records the outcome of action on scope by the context's actor
// and returns err unchanged. A failure to record a successful change is
// returned: a change that cannot be audited is reported as failed.
func (s *Service) audited(ctx context.Context, action, scope string, err error) error {
	if s.Audit == nil {
		return err
	}
	a := vigil.ActorFrom(ctx)
	ev := vigil.AuditEvent{Principal: a.Principal, Action: action, Scope: scope, Source: a.Source, Outcome: vigil.OutcomeSuccess}
	if ev.Principal == "" {
		ev.Principal = "system"
	}
	if err != nil {
		ev.Outcome = vigil.OutcomeFailure
		ev.Detail = string(vigil.ErrorCode(err))
		if ve, ok := err.(*vigil.Error); ok {
			ev.Detail = string(ve.Code) + ": " + ve.Message
		}
	}
	if rerr := s.Audit.Record(ctx, ev); rerr != nil && err == nil {
		return fmt.Errorf("audit %s: %w", action, rerr)
	}
	return err
}

func endpointScope(name string) string { return "/endpoints/" + name }

func deploymentScope(ep, name string) string { return "/endpoints/" + ep + "/deployments/" + name }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) changed(ctx context.Context) error {
	if s.Changed != nil {
		return s.Changed(ctx)
	}
	return nil
}

// keys returns the key manager sharing the service's store and keyring.
func (s *Service) keys() *Keys {
	return &Keys{Store: s.Store, Ring: s.Ring, DataKeyID: s.DataKeyID}
}

// EndpointPatch holds the fields an update changes; nil fields stay.
type EndpointPatch struct {
	Description         *string            `json:"description"`
	Tags                *map[string]string `json:"tags"`
	AuthMode            *string            `json:"auth_mode"`
	PublicNetworkAccess *string            `json:"public_network_access"`
	Traffic             *map[string]int    `json:"traffic"`
	MirrorTraffic       *map[string]int    `json:"mirror_traffic"`
}

// CreateEndpoint creates an endpoint with defaults filled in and both keys
// generated. Traffic cannot be set yet: no deployment exists.
func (s *Service) CreateEndpoint(ctx context.Context, e vigil.Endpoint) (vigil.Endpoint, error) {
	out, err := s.createEndpoint(ctx, e)
	return out, s.audited(ctx, "endpoints/write", endpointScope(e.Name), err)
}

// createEndpoint does the work of CreateEndpoint.
func (s *Service) createEndpoint(ctx context.Context, e vigil.Endpoint) (vigil.Endpoint, error) {
	if e.AuthMode == "" {
		e.AuthMode = vigil.AuthKey
	}
	if e.PublicNetworkAccess == "" {
		e.PublicNetworkAccess = vigil.AccessEnabled
	}
	if err := e.Validate(); err != nil {
		return e, err
	}
	if err := e.ValidateTraffic(nil); err != nil {
		return e, vigil.Errorf(vigil.EInvalid, "%s (traffic is set with an update once deployments exist)", err.(*vigil.Error).Message)
	}
	if err := s.Store.CreateEndpoint(ctx, &e); err != nil {
		return e, err
	}
	k := s.keys()
	for _, slot := range []vigil.KeySlot{vigil.PrimaryKey, vigil.SecondaryKey} {
		if _, err := k.Generate(ctx, e.Name, slot); err != nil {
			return e, err
		}
	}
	return e, s.changed(ctx)
}

// GetEndpoint returns an endpoint.
func (s *Service) GetEndpoint(ctx context.Context, name string) (vigil.Endpoint, error) {
	return s.Store.GetEndpoint(ctx, name)
}

// ListEndpoints returns every endpoint.
func (s *Service) ListEndpoints(ctx context.Context) ([]vigil.Endpoint, error) {
	return s.Store.ListEndpoints(ctx)
}

// UpdateEndpoint applies a patch; traffic and mirror rules are checked
// against the endpoint's deployments in the same transaction.
func (s *Service) UpdateEndpoint(ctx context.Context, name string, p EndpointPatch) (vigil.Endpoint, error) {
	out, err := s.updateEndpoint(ctx, name, p)
	return out, s.audited(ctx, "endpoints/write", endpointScope(name), err)
}

// updateEndpoint does the work of UpdateEndpoint.
func (s *Service) updateEndpoint(ctx context.Context, name string, p EndpointPatch) (vigil.Endpoint, error) {
	e, err := s.Store.UpdateEndpoint(ctx, name, func(e *vigil.Endpoint, deployments []string) error {
		if p.Description != nil {
			e.Description = *p.Description
		}
		if p.Tags != nil {
			e.Tags = *p.Tags
		}
		if p.AuthMode != nil {
			e.AuthMode = *p.AuthMode
		}
		if p.PublicNetworkAccess != nil {
			e.PublicNetworkAccess = *p.PublicNetworkAccess
		}
		if p.Traffic != nil {
			e.Traffic = *p.Traffic
		}
		if p.MirrorTraffic != nil {
			e.MirrorTraffic = dropZeroMirror(*p.MirrorTraffic)
		}
		if err := e.Validate(); err != nil {
			return err
		}
		return e.ValidateTraffic(deployments)
	})
	if err != nil {
		return e, err
	}
	return e, s.changed(ctx)
}

func dropZeroMirror(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// DeleteEndpoint deletes an endpoint with its deployments and keys. The
// built-in default endpoint cannot be deleted.
func (s *Service) DeleteEndpoint(ctx context.Context, name string) error {
	return s.audited(ctx, "endpoints/delete", endpointScope(name), s.deleteEndpoint(ctx, name))
}

// deleteEndpoint does the work of DeleteEndpoint.
func (s *Service) deleteEndpoint(ctx context.Context, name string) error {
	if name == vigil.DefaultEndpoint {
		return vigil.Errorf(vigil.EConflict, "the built-in endpoint %s cannot be deleted; change its traffic or keys instead", name)
	}
	if err := s.Store.DeleteEndpoint(ctx, name); err != nil {
		return err
	}
	return s.changed(ctx)
}

// EndpointKeys are an endpoint's two keys.
type EndpointKeys struct {
	PrimaryKey   string `json:"primaryKey"`
	SecondaryKey string `json:"secondaryKey"`
}

// ListKeys returns an endpoint's keys; the endpoint must use key auth.
func (s *Service) ListKeys(ctx context.Context, name string) (EndpointKeys, error) {
	out, err := s.listKeys(ctx, name)
	return out, s.audited(ctx, "endpoints/listKeys/action", endpointScope(name), err)
}

// listKeys does the work of ListKeys.
func (s *Service) listKeys(ctx context.Context, name string) (EndpointKeys, error) {
	e, err := s.Store.GetEndpoint(ctx, name)
	if err != nil {
		return EndpointKeys{}, err
	}
	if e.AuthMode != vigil.AuthKey {
		return EndpointKeys{}, vigil.Errorf(vigil.EInvalid, "endpoint %s uses auth_mode %s, not key; get a token instead", name, e.AuthMode)
	}
	k := s.keys()
	p, err := k.Reveal(ctx, name, vigil.PrimaryKey)
	if err != nil {
		return EndpointKeys{}, err
	}
	sec, err := k.Reveal(ctx, name, vigil.SecondaryKey)
	if err != nil {
		return EndpointKeys{}, err
	}
	return EndpointKeys{PrimaryKey: p, SecondaryKey: sec}, nil
}

// RegenerateKey replaces one of an endpoint's keys, with value when given
// or a new random key otherwise. The old key stops working at once. The
// endpoint must use key auth.
func (s *Service) RegenerateKey(ctx context.Context, name string, slot vigil.KeySlot, value string) error {
	return s.audited(ctx, "endpoints/regenerateKeys/action", endpointScope(name), s.regenerateKey(ctx, name, slot, value))
}

// regenerateKey does the work of RegenerateKey.
func (s *Service) regenerateKey(ctx context.Context, name string, slot vigil.KeySlot, value string) error {
	if slot != vigil.PrimaryKey && slot != vigil.SecondaryKey {
		return vigil.Errorf(vigil.EInvalid, "keyType must be primary or secondary")
	}
	e, err := s.Store.GetEndpoint(ctx, name)
	if err != nil {
		return err
	}
	if e.AuthMode != vigil.AuthKey {
		return vigil.Errorf(vigil.EInvalid, "endpoint %s uses auth_mode %s, not key; it has no keys to regenerate", name, e.AuthMode)
	}
	k := s.keys()
	if value != "" {
		err = k.Set(ctx, name, slot, value)
	} else {
		_, err = k.Generate(ctx, name, slot)
	}
	if err != nil {
		return err
	}
	return s.changed(ctx)
}

// Token is an aml_token as the API returns it.
type Token struct {
	AccessToken         string `json:"accessToken"`
	TokenType           string `json:"tokenType"`
	ExpiryTimeUTC       string `json:"expiryTimeUtc"`
	RefreshAfterTimeUTC string `json:"refreshAfterTimeUtc"`
}

// IssueToken returns a new token for an aml_token endpoint, signed with the
// newest signing key (made on first use).
func (s *Service) IssueToken(ctx context.Context, name string) (Token, error) {
	out, err := s.issueToken(ctx, name)
	return out, s.audited(ctx, "endpoints/token/action", endpointScope(name), err)
}

// issueToken does the work of IssueToken.
func (s *Service) issueToken(ctx context.Context, name string) (Token, error) {
	e, err := s.Store.GetEndpoint(ctx, name)
	if err != nil {
		return Token{}, err
	}
	if e.AuthMode != vigil.AuthAMLToken {
		return Token{}, vigil.Errorf(vigil.EInvalid, "endpoint %s uses auth_mode %s, not aml_token; list its keys instead", name, e.AuthMode)
	}
	keys, err := s.Store.SigningKeys(ctx)
	if err != nil {
		return Token{}, err
	}
	if len(keys) == 0 {
		if _, err := s.RotateSigningKey(ctx); err != nil {
			return Token{}, err
		}
		if keys, err = s.Store.SigningKeys(ctx); err != nil {
			return Token{}, err
		}
	}
	secret, err := s.Ring.Open(keys[0].Sealed, SigningKeyOwner(keys[0].KID))
	if err != nil {
		return Token{}, fmt.Errorf("open signing key %s: %w", keys[0].KID, err)
	}
	life := s.TokenLifetime
	if life <= 0 {
		life = DefaultTokenLifetime
	}
	now := s.now().UTC().Truncate(time.Second)
	tok, _, err := credential.SignToken(keys[0].KID, secret, name, now, life)
	if err != nil {
		return Token{}, err
	}
	return Token{
		AccessToken:         tok,
		TokenType:           "Bearer",
		ExpiryTimeUTC:       now.Add(life).Format(time.RFC3339),
		RefreshAfterTimeUTC: now.Add(life / 2).Format(time.RFC3339),
	}, nil
}

// SigningKeyOwner names the owner a signing key is sealed for.
func SigningKeyOwner(kid string) string { return "signing-key/" + kid }

// RotateSigningKey makes a new signing key that signs every token from now
// on. Older keys keep verifying until the tokens they signed have expired,
// then they are retired.
func (s *Service) RotateSigningKey(ctx context.Context) (string, error) {
	out, err := s.rotateSigningKey(ctx)
	return out, s.audited(ctx, "signingKeys/rotate/action", "/", err)
}

// rotateSigningKey does the work of RotateSigningKey.
func (s *Service) rotateSigningKey(ctx context.Context) (string, error) {
	kid, secret, err := credential.NewSigningKey()
	if err != nil {
		return "", err
	}
	sealed, err := s.Ring.Seal(secret, SigningKeyOwner(kid))
	if err != nil {
		return "", err
	}
	before, err := s.Store.SigningKeys(ctx)
	if err != nil {
		return "", err
	}
	if err := s.Store.CreateSigningKey(ctx, vigil.SigningKey{KID: kid, Sealed: sealed, DataKeyID: s.DataKeyID}); err != nil {
		return "", err
	}
	// A key superseded longer ago than a token lives signs no valid token.
	life := s.TokenLifetime
	if life <= 0 {
		life = DefaultTokenLifetime
	}
	if len(before) > 1 {
		// before[0] was the newest; keys older than it were superseded when
		// before[0] was made.
		if before[0].CreatedAt.Before(s.now().Add(-life)) {
			if err := s.Store.RetireSigningKeys(ctx, before[0].CreatedAt, before[0].KID); err != nil {
				return "", err
			}
		}
	}
	return kid, s.changed(ctx)
}

// DeploymentPatch holds the fields a deployment update changes.
type DeploymentPatch struct {
	Description               *string                `json:"description"`
	InstanceCount             *int                   `json:"instance_count"`
	RequestSettings           *vigil.RequestSettings `json:"request_settings"`
	EgressPublicNetworkAccess *string                `json:"egress_public_network_access"`
	EnvironmentVariables      *map[string]string     `json:"environment_variables"`
	LivenessProbe             *vigil.Probe           `json:"liveness_probe"`
	ReadinessProbe            *vigil.Probe           `json:"readiness_probe"`
	Tags                      *map[string]string     `json:"tags"`
}

// DeploymentOwner names the owner a deployment's sealed settings are
// bound to.
func DeploymentOwner(endpoint, name string) string {
	return "endpoint/" + endpoint + "/deployment/" + name
}

// ApplyDeploymentDefaults fills unset fields with Azure ML's defaults.
func ApplyDeploymentDefaults(d *vigil.Deployment) {
	if d.Model == "" {
		d.Model = vigil.BuiltinAnomalyDetector
	}
	if d.InstanceCount == 0 {
		d.InstanceCount = 1
	}
	if d.RequestSettings.RequestTimeoutMS == 0 {
		d.RequestSettings.RequestTimeoutMS = 5000
	}
	if d.RequestSettings.MaxConcurrentRequestsPerInstance == 0 {
		d.RequestSettings.MaxConcurrentRequestsPerInstance = 1
	}
	if d.EgressPublicNetworkAccess == "" {
		d.EgressPublicNetworkAccess = vigil.AccessEnabled
	}
	if d.LivenessProbe == (vigil.Probe{}) {
		d.LivenessProbe = vigil.DefaultProbe()
	}
	if d.ReadinessProbe == (vigil.Probe{}) {
		d.ReadinessProbe = vigil.DefaultProbe()
	}
}

func (s *Service) seal(d *vigil.SealedDeployment) error {
	d.EnvSealed, d.DataKeyID = nil, 0
	if len(d.EnvironmentVariables) == 0 {
		return nil
	}
	b, _ := json.Marshal(d.EnvironmentVariables)
	sealed, err := s.Ring.Seal(b, DeploymentOwner(d.EndpointName, d.Name))
	if err != nil {
		return err
	}
	d.EnvSealed, d.DataKeyID = sealed, s.DataKeyID
	return nil
}

func (s *Service) unseal(d *vigil.SealedDeployment) error {
	d.EnvironmentVariables = map[string]string{}
	if len(d.EnvSealed) == 0 {
		return nil
	}
	b, err := s.Ring.Open(d.EnvSealed, DeploymentOwner(d.EndpointName, d.Name))
	if err != nil {
		return fmt.Errorf("open environment of deployment %s/%s: %w", d.EndpointName, d.Name, err)
	}
	return json.Unmarshal(b, &d.EnvironmentVariables)
}

// CreateDeployment creates a deployment of an existing endpoint.
func (s *Service) CreateDeployment(ctx context.Context, d vigil.Deployment, allTraffic bool) (vigil.Deployment, error) {
	out, err := s.createDeployment(ctx, d, allTraffic)
	return out, s.audited(ctx, "deployments/write", deploymentScope(d.EndpointName, d.Name), err)
}

// createDeployment does the work of CreateDeployment.
func (s *Service) createDeployment(ctx context.Context, d vigil.Deployment, allTraffic bool) (vigil.Deployment, error) {
	ApplyDeploymentDefaults(&d)
	if err := d.Validate(); err != nil {
		return d, err
	}
	sd := vigil.SealedDeployment{Deployment: d}
	if err := s.seal(&sd); err != nil {
		return d, err
	}
	if err := s.Store.CreateDeployment(ctx, &sd, allTraffic); err != nil {
		return d, err
	}
	d.CreatedAt, d.UpdatedAt = sd.CreatedAt, sd.UpdatedAt
	return d, s.changed(ctx)
}

// GetDeployment returns a deployment with its environment unsealed.
func (s *Service) GetDeployment(ctx context.Context, endpoint, name string) (vigil.Deployment, error) {
	sd, err := s.Store.GetDeployment(ctx, endpoint, name)
	if err != nil {
		return sd.Deployment, err
	}
	err = s.unseal(&sd)
	return sd.Deployment, err
}

// ListDeployments returns an endpoint's deployments.
func (s *Service) ListDeployments(ctx context.Context, endpoint string) ([]vigil.Deployment, error) {
	if _, err := s.Store.GetEndpoint(ctx, endpoint); err != nil {
		return nil, err
	}
	sds, err := s.Store.ListDeployments(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	out := make([]vigil.Deployment, 0, len(sds))
	for i := range sds {
		if err := s.unseal(&sds[i]); err != nil {
			return nil, err
		}
		out = append(out, sds[i].Deployment)
	}
	return out, nil
}

// UpdateDeployment applies a patch to a deployment.
func (s *Service) UpdateDeployment(ctx context.Context, endpoint, name string, p DeploymentPatch) (vigil.Deployment, error) {
	out, err := s.updateDeployment(ctx, endpoint, name, p)
	return out, s.audited(ctx, "deployments/write", deploymentScope(endpoint, name), err)
}

// updateDeployment does the work of UpdateDeployment.
func (s *Service) updateDeployment(ctx context.Context, endpoint, name string, p DeploymentPatch) (vigil.Deployment, error) {
	sd, err := s.Store.UpdateDeployment(ctx, endpoint, name, func(d *vigil.SealedDeployment) error {
		if err := s.unseal(d); err != nil {
			return err
		}
		if p.Description != nil {
			d.Description = *p.Description
		}
		if p.InstanceCount != nil {
			d.InstanceCount = *p.InstanceCount
		}
		if p.RequestSettings != nil {
			rs := *p.RequestSettings
			if rs.RequestTimeoutMS == 0 {
				rs.RequestTimeoutMS = d.RequestSettings.RequestTimeoutMS
			}
			if rs.MaxConcurrentRequestsPerInstance == 0 {
				rs.MaxConcurrentRequestsPerInstance = d.RequestSettings.MaxConcurrentRequestsPerInstance
			}
			d.RequestSettings = rs
		}
		if p.EgressPublicNetworkAccess != nil {
			d.EgressPublicNetworkAccess = *p.EgressPublicNetworkAccess
		}
		if p.EnvironmentVariables != nil {
			d.EnvironmentVariables = *p.EnvironmentVariables
		}
		if p.LivenessProbe != nil {
			d.LivenessProbe = *p.LivenessProbe
		}
		if p.ReadinessProbe != nil {
			d.ReadinessProbe = *p.ReadinessProbe
		}
		if p.Tags != nil {
			d.Tags = *p.Tags
		}
		if err := d.Validate(); err != nil {
			return err
		}
		return s.seal(d)
	})
	if err != nil {
		return sd.Deployment, err
	}
	if err := s.unseal(&sd); err != nil {
		return sd.Deployment, err
	}
	return sd.Deployment, s.changed(ctx)
}

// DeleteDeployment deletes a deployment that takes no live traffic.
func (s *Service) DeleteDeployment(ctx context.Context, endpoint, name string) error {
	return s.audited(ctx, "deployments/delete", deploymentScope(endpoint, name), s.deleteDeployment(ctx, endpoint, name))
}

// deleteDeployment does the work of DeleteDeployment.
func (s *Service) deleteDeployment(ctx context.Context, endpoint, name string) error {
	if err := s.Store.DeleteDeployment(ctx, endpoint, name); err != nil {
		return err
	}
	return s.changed(ctx)
}
