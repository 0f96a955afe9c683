package oidc

import (
	"testing"

	"github.com/vigilhq/vigil/internal/oidc/oidctest"
)

// The provider harness lives in oidctest so that server tests use it too.
const opAudience = oidctest.Audience

type testOP = oidctest.Provider

func startOP(t *testing.T, port int) *testOP { return oidctest.Start(t, port) }

func freePort(t *testing.T) int { return oidctest.FreePort(t) }
