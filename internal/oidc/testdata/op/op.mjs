// Test OpenID provider for internal/oidc (Go tests start it; never deployed).
//
// Env: OP_PORT (default 4444), OP_AUDIENCE (default urn:ml-endpoints).
// It issues ES256 JWT access tokens (typ at+jwt) with the client_credentials
// grant. Clients (secret = "<id>-secret"):
//   svc       plain service principal, no groups
//   svc-ops   groups: ["ml-ops"]                (array form)
//   svc-str   groups: "ml-ops data-sci"         (space-separated form)
//   as-user   token rewritten to sub "alice" (stands in for a user token,
//             whose sub is the user and client_id the app)
// Resources (the "resource" form parameter picks the audience): OP_AUDIENCE
// (the default) and "urn:other" (for wrong-audience tests).
import Provider, { errors } from 'oidc-provider';
import { generateKeyPairSync } from 'node:crypto';

const port = Number(process.env.OP_PORT || 4444);
const issuer = `http://127.0.0.1:${port}`;
const audience = process.env.OP_AUDIENCE || 'urn:ml-endpoints';
const resources = new Set([audience, 'urn:other']);
const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const extra = {
  'svc-ops': { groups: ['ml-ops'] },
  'svc-str': { groups: 'ml-ops data-sci' },
};
const client = (id) => ({
  client_id: id, client_secret: `${id}-secret`,
  grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
  scope: 'endpoints:invoke endpoints:admin',
  id_token_signed_response_alg: 'ES256', // required with an EC-only JWKS
});

const provider = new Provider(issuer, {
  scopes: ['openid', 'endpoints:invoke', 'endpoints:admin'],
  jwks: { keys: [{ ...jwk, kid: 'test-es256', alg: 'ES256', use: 'sig' }] },
  clients: ['svc', 'svc-ops', 'svc-str', 'as-user'].map(client),
  extraTokenClaims: async (_ctx, token) => extra[token.clientId],
  formats: {
    customizers: {
      jwt: async (_ctx, token, jwt) => {
        if (token.clientId === 'as-user') jwt.payload.sub = 'alice';
      },
    },
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (!resources.has(resource)) throw new errors.InvalidTarget();
        return {
          scope: 'endpoints:invoke endpoints:admin', audience: resource,
          accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`OP listening ${issuer}`));
// No state worth flushing: exit at once rather than wait for keep-alive
// connections to drain.
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
