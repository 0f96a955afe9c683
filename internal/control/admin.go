package control

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/vigil"
)

// AdminPrincipal is the principal of the bootstrap admin token.
const AdminPrincipal = "admin"

// EnsureAdminToken makes sure a bootstrap admin token exists and is written
// to path (mode 0600). When the file is missing a new token is made, the old
// admin tokens are revoked, and the new one is written: whoever can write
// the data directory is the admin already. It reports whether it made one.
func (s *Service) EnsureAdminToken(ctx context.Context, path string) (bool, error) {
	if b, err := os.ReadFile(path); err == nil {
		if _, err := s.VerifyAccessToken(ctx, string(trimNewline(b))); err == nil {
			return false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("admin token: %w", err)
	}
	tok, hash, err := credential.NewAccessToken()
	if err != nil {
		return false, err
	}
	if err := s.Store.RevokeAccessTokens(ctx, AdminPrincipal); err != nil {
		return false, err
	}
	id, _, _ := credential.NewSigningKey() // a random id
	if err := s.Store.CreateAccessToken(ctx, vigil.AccessToken{ID: id, Name: "bootstrap-admin", Principal: AdminPrincipal, Hash: hash}); err != nil {
		return false, err
	}
	if err := writeSecretFile(path, tok); err != nil {
		return false, fmt.Errorf("admin token: %w", err)
	}
	return true, nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// VerifyAccessToken returns the principal of a live management-API token.
func (s *Service) VerifyAccessToken(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", vigil.Errorf(vigil.EUnauthorized, "a bearer token is required")
	}
	h := credential.HashAccessToken(token)
	toks, err := s.Store.AccessTokens(ctx)
	if err != nil {
		return "", err
	}
	now := s.now()
	for _, t := range toks {
		if subtle.ConstantTimeCompare(t.Hash, h) == 1 {
			if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
				break
			}
			return t.Principal, nil
		}
	}
	return "", vigil.Errorf(vigil.EUnauthorized, "the bearer token is not valid")
}
