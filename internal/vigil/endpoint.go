package vigil

import (
	"fmt"
	"time"
)

// DefaultEndpoint is the name of the built-in endpoint served at the root
// paths (/anomalydetector/...), as the Azure Anomaly Detector was.
const DefaultEndpoint = "default"

// ValidateEndpointName reports whether name is a valid endpoint name: 3 to 32
// characters, a letter first, then letters, digits and single dashes, not
// ending in a dash.
func ValidateEndpointName(name string) error {
	return validateName("endpoint", name)
}

// ValidateDeploymentName reports whether name is a valid deployment name;
// the rules are those of endpoint names.
func ValidateDeploymentName(name string) error {
	return validateName("deployment", name)
}

// validateName checks a resource name; kind names the resource in the
// error message.
func validateName(kind, name string) error {
	if len(name) < 3 || len(name) > 32 {
		return Errorf(EInvalid, "%s name must be 3 to 32 characters long", kind)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		case c == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-':
		default:
			return Errorf(EInvalid, "%s name %q must start with a letter and hold only letters, digits and single dashes", kind, truncate(name))
		}
	}
	return nil
}

// KeySlot names one of an endpoint's two keys.
type KeySlot string

// The key slots.
const (
	PrimaryKey   KeySlot = "primary"
	SecondaryKey KeySlot = "secondary"
)

// ValidateAPIKey reports whether a user-supplied key is acceptable: 16 to 128
// printable ASCII characters, with no space at either end (HTTP strips those
// from header values, so such a key could never match).
func ValidateAPIKey(key string) error {
	if len(key) < 16 || len(key) > 128 {
		return Errorf(EInvalid, "an API key must be 16 to 128 printable characters (got %d characters)", len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return Errorf(EInvalid, "an API key must hold only printable ASCII characters (position %d is not)", i+1)
		}
	}
	if key[0] == ' ' || key[len(key)-1] == ' ' {
		return Errorf(EInvalid, "an API key must not begin or end with a space")
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return fmt.Sprint(s)
}

// DataKey is a data key as stored: wrapped by a key-encryption key.
type DataKey struct {
	ID      int64
	KEKID   string
	Wrapped []byte
}

// StoredKey is an endpoint key as stored: a keyed lookup digest and the key
// sealed under a data key. It never holds the key in plaintext.
type StoredKey struct {
	Endpoint  string
	Slot      KeySlot
	Digest    []byte
	Sealed    []byte
	DataKeyID int64
}

// SealedDeployment is a deployment as stored: its environment variables
// sealed, never in plaintext.
type SealedDeployment struct {
	Deployment
	EnvSealed []byte
	DataKeyID int64
}

// SigningKey is a key that signs aml_tokens, as stored (sealed).
type SigningKey struct {
	KID       string
	Sealed    []byte
	DataKeyID int64
	CreatedAt time.Time
	Retired   bool
}

// AccessToken is a management-API token as stored: a hash, never the token.
type AccessToken struct {
	ID        string
	Name      string
	Principal string
	Hash      []byte
	ExpiresAt time.Time // zero: never
	CreatedAt time.Time
}
