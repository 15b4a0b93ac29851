// A development OpenID Connect provider for Borgerraad (oidc-provider, a certified implementation):
// it issues JWT access tokens by the client-credentials grant, with the roles of the client and,
// for a department system, the department it asks for. Local runs and the tests use it in place
// of the municipality's provider; the services verify its tokens exactly as they would any other.
//
// Usage: node server.js CONFIG.json
//   {
//     "port": 50050,
//     "issuer": "http://127.0.0.1:50050",
//     "audience": "borgerraad",
//     "token_ttl_seconds": 900,
//     "clients": [
//       { "client_id": "web-form", "client_secret": "…", "roles": ["web-form"] },
//       { "client_id": "department-system", "client_secret": "…", "roles": ["department-system"],
//         "departments": ["by-og-kultur"] }
//     ]
//   }
// A client with "departments" may ask for one of them (any, with "*") with the token request's
// `department` parameter; its token then names only that one. With DEV_IDP_PARENT_PID set, the provider
// exits when that process is gone (a test run that ends leaves nothing behind).

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node server.js CONFIG.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const audience = config.audience ?? 'borgerraad';
// oidc-provider names a resource server by an absolute URI; the token's audience is separate.
const resource = 'urn:borgerraad:api';

// A fresh signing key per start: tokens of an earlier run are not accepted by a later one.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };

const clientsById = new Map(config.clients.map((client) => [client.client_id, client]));

const provider = new Provider(config.issuer, {
  clients: config.clients.map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [signingKey] },
  ttl: { ClientCredentials: config.token_ttl_seconds ?? 900 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: '',
        audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: config.token_ttl_seconds ?? 900,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  async extraTokenClaims(ctx, token) {
    const client = clientsById.get(token.clientId);
    if (!client) return undefined;
    const claims = { roles: client.roles ?? [] };
    const allowed = client.departments ?? [];
    // The token endpoint's form body (extraParams covers only the authorization endpoints).
    const asked = ctx.oidc.body?.department;
    if (asked) {
      if (!allowed.includes(asked) && !allowed.includes('*')) {
        throw new errors.InvalidRequest(`this client may not act for department ${asked}`);
      }
      claims.departments = [asked];
    } else if (allowed.length > 0 && !allowed.includes('*')) {
      claims.departments = allowed;
    }
    return claims;
  },
});
provider.proxy = true;

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`development identity provider at ${config.issuer}`);
});

const parent = Number(process.env.DEV_IDP_PARENT_PID);
if (parent > 0) {
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      server.close();
      process.exit(0);
    }
  }, 500).unref();
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
