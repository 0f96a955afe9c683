package oidc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// checkHeader does the checks go-oidc leaves out, before any network use:
// size, compact form, alg allow-list (again) and typ.
func (v *Verifier) checkHeader(raw string) error {
	if len(raw) == 0 {
		return errors.New("empty token")
	}
	if len(raw) > MaxTokenSize {
		return fmt.Errorf("token is %d bytes, over %d", len(raw), MaxTokenSize)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a compact JWS: %d parts", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case, and go-jose does not.
	var h map[string]json.RawMessage
	if err := json.Unmarshal(hb, &h); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	var alg string
	if err := json.Unmarshal(h["alg"], &alg); err != nil || !slices.Contains(v.cfg.Algorithms, alg) {
		return fmt.Errorf("alg %s not allowed", clip(h["alg"]))
	}
	if raw, ok := h["typ"]; ok {
		var typ string
		if err := json.Unmarshal(raw, &typ); err != nil {
			return fmt.Errorf("typ is not a string")
		}
		t := strings.TrimPrefix(strings.ToLower(typ), "application/")
		if t != "at+jwt" && t != "jwt" {
			return fmt.Errorf("typ %s not allowed", clip(raw))
		}
	}
	return nil
}

// numericDate decodes a JWT NumericDate (a JSON number of seconds).
func numericDate(raw json.RawMessage) (time.Time, error) {
	var sec float64
	if err := json.Unmarshal(raw, &sec); err != nil {
		return time.Time{}, err
	}
	sec = max(min(sec, 1<<40), -(1 << 40)) // keep the int64 conversion defined
	whole, frac := math.Modf(sec)
	return time.Unix(int64(whole), int64(frac*1e9)), nil
}

// identity runs the time checks and maps the claims of tok to an Identity.
func (v *Verifier) identity(tok *gooidc.IDToken) (Identity, error) {
	// A map, not a struct, so claim names match exactly.
	var all map[string]json.RawMessage
	if err := tok.Claims(&all); err != nil {
		return Identity{}, fmt.Errorf("claims: %w", err)
	}

	now := v.cfg.Now()
	if _, ok := all["exp"]; !ok || tok.Expiry.IsZero() {
		return Identity{}, errors.New("no exp claim")
	}
	if now.After(tok.Expiry.Add(Leeway)) {
		return Identity{}, fmt.Errorf("token expired at %s", tok.Expiry.UTC().Format(time.RFC3339))
	}
	if raw, ok := all["nbf"]; ok {
		nbf, err := numericDate(raw)
		if err != nil {
			return Identity{}, fmt.Errorf("claims: nbf: %w", err)
		}
		if now.Add(Leeway).Before(nbf) {
			return Identity{}, fmt.Errorf("token not valid before %s", nbf.UTC().Format(time.RFC3339))
		}
	}
	if !tok.IssuedAt.IsZero() && now.Add(Leeway).Before(tok.IssuedAt) {
		return Identity{}, fmt.Errorf("token issued in the future, at %s", tok.IssuedAt.UTC().Format(time.RFC3339))
	}

	subject, err := stringClaim(all, v.cfg.SubjectClaim)
	if err != nil {
		return Identity{}, err
	}
	if err := checkName(subject); err != nil || strings.ContainsFunc(subject, unicode.IsSpace) {
		return Identity{}, fmt.Errorf("claim %q: bad subject", v.cfg.SubjectClaim)
	}
	id := Identity{Subject: subject, Principal: "user:" + subject}
	if isServicePrincipal(all) {
		id.Principal = "sp:" + subject
	}

	groups, err := stringsClaim(all[v.cfg.GroupsClaim])
	if err != nil {
		return Identity{}, fmt.Errorf("claim %q: %w", v.cfg.GroupsClaim, err)
	}
	if len(groups) > maxGroups {
		return Identity{}, fmt.Errorf("claim %q: %d groups, over %d", v.cfg.GroupsClaim, len(groups), maxGroups)
	}
	for _, g := range groups {
		if err := checkName(g); err != nil {
			return Identity{}, fmt.Errorf("claim %q: %w", v.cfg.GroupsClaim, err)
		}
		if p := "group:" + g; !slices.Contains(id.Groups, p) {
			id.Groups = append(id.Groups, p)
		}
	}

	if scope, err := stringClaim(all, "scope"); err == nil {
		id.Scopes = strings.Fields(scope)
	} else if scp, err := stringsClaim(all["scp"]); err == nil {
		id.Scopes = scp
	}
	return id, nil
}

// isServicePrincipal reports whether the claims are those of a client
// credentials token; see the package documentation.
func isServicePrincipal(all map[string]json.RawMessage) bool {
	if typ, err := stringClaim(all, "idtyp"); err == nil && typ == "app" {
		return true
	}
	sub, err := stringClaim(all, "sub")
	if err != nil || sub == "" {
		return false
	}
	if _, ok := all["client_id"]; ok {
		cid, err := stringClaim(all, "client_id")
		return err == nil && cid == sub
	}
	azp, err := stringClaim(all, "azp")
	return err == nil && azp == sub
}

// stringClaim returns the string claim name, which must be present.
func stringClaim(all map[string]json.RawMessage, name string) (string, error) {
	raw, ok := all[name]
	if !ok {
		return "", fmt.Errorf("no %q claim", name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("claim %q is not a string", name)
	}
	return s, nil
}

// stringsClaim decodes a claim that is absent, null, an array of strings or
// a space-separated string.
func stringsClaim(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return strings.Fields(s), nil
	case '[':
		var ss []string
		if err := json.Unmarshal(raw, &ss); err != nil {
			return nil, errors.New("not an array of strings")
		}
		return ss, nil
	}
	return nil, errors.New("not a string or an array of strings")
}

// checkName reports whether s is fit to be part of a principal: non-empty,
// valid UTF-8, short, and free of control characters.
func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("empty name")
	case len(s) > maxNameLen:
		return fmt.Errorf("name over %d bytes", maxNameLen)
	case !utf8.ValidString(s):
		return errors.New("name is not UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("name has control characters")
	}
	return nil
}

// clip shortens a raw JSON value for an error message.
func clip(raw json.RawMessage) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	if raw == nil {
		return "(absent)"
	}
	return string(raw)
}
