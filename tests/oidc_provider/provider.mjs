// A real OpenID Connect provider for the portal's single sign-on tests, built on the
// certified `oidc-provider` package (pinned in package.json). Started by the tests
// (tests/sso_provider.py), never by the portal.
//
// Environment:
//   OIDC_TEST_USERS_FILE   JSON read at every sign-in, so a test changes a person's groups
//                          or second factor between two sign-ins:
//                          {"nina": {"password": "...", "email": "...", "name": "...",
//                                    "groups": ["portal-compliance"], "amr": ["pwd", "mfa"],
//                                    "acr": "..."}}
//   OIDC_TEST_CLIENT_ID, OIDC_TEST_CLIENT_SECRET, OIDC_TEST_REDIRECT_URIS (comma-separated)
//   OIDC_TEST_PORT         0 (default): any free port on 127.0.0.1.
// Prints one JSON line {"issuer": "http://127.0.0.1:<port>"} once it is listening.
//
// What it enforces, like a production provider: the authorization code flow only, PKCE
// (S256) required for every client, redirect URIs matched exactly, id_tokens signed with
// RS256 by a key made at start-up (published at the JWKS endpoint). The login page is the
// provider's own (below), so a test, or a browser, signs in here and never at the portal.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const usersFile = process.env.OIDC_TEST_USERS_FILE;
const clientId = process.env.OIDC_TEST_CLIENT_ID || 'portal';
const clientSecret = process.env.OIDC_TEST_CLIENT_SECRET || 'portal-test-secret';
const redirectUris = (process.env.OIDC_TEST_REDIRECT_URIS || '').split(',').filter(Boolean);

function users() {
  return JSON.parse(readFileSync(usersFile, 'utf8'));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, message) {
  const error = message ? `<p role="alert">${escapeHtml(message)}</p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Test identity provider: sign in</title></head><body><main>
<h1>Test identity provider</h1>${error}
<form method="post" action="/interaction/${uid}/login">
<label for="username">Username</label> <input id="username" name="username" autocomplete="off">
<label for="password">Password</label> <input id="password" name="password" type="password">
<button type="submit">Sign in at the provider</button>
</form></main></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const server = createServer();
await new Promise((resolve) => server.listen(Number(process.env.OIDC_TEST_PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['portal-test-provider-cookie-key'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  scopes: ['openid', 'email', 'profile', 'groups'],
  // amr and acr, the claims the portal reads for the second factor, in every id_token.
  acrValues: ['urn:portal-test:loa:password', 'urn:portal-test:loa:mfa'],
  claims: {
    openid: ['sub', 'amr', 'acr'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  // Groups in the id_token too, as Entra ID and Okta send them.
  conformIdTokenClaims: false,
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // A first-party client: no consent screen, the grant is made at once (the package's
  // documented recipe for skipping consent).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'given_name', 'family_name',
      'preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    const person = users()[sub];
    if (!person) return undefined;
    return {
      accountId: sub,
      async claims() {
        const [given, ...family] = (person.name || sub).split(' ');
        return {
          sub,
          preferred_username: sub,
          email: person.email || `${sub}@example.com`,
          email_verified: true,
          name: person.name || sub,
          given_name: given,
          family_name: family.join(' '),
          groups: person.groups || [],
        };
      },
    };
  },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
});

const providerCallback = provider.callback();

async function interaction(req, res) {
  const match = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/);
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== match[1]) throw new Error('interaction mismatch');
  if (!match[2]) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid));
    return;
  }
  const form = await readForm(req);
  const username = form.get('username') || '';
  const person = users()[username];
  if (!person || person.password !== form.get('password')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid, 'Wrong username or password.'));
    return;
  }
  const login = { accountId: username, amr: person.amr || ['pwd'] };
  if (person.acr) login.acr = person.acr;
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

server.on('request', (req, res) => {
  if (req.url === '/favicon.ico') {
    res.writeHead(204);
    res.end();
    return;
  }
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
    return;
  }
  providerCallback(req, res);
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
