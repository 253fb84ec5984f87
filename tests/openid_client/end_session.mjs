// openid-client (panva) against the running axum example: discovery, a code flow through the
// demo's login and consent forms (a remembered login), then RP-initiated logout from the URL
// `buildEndSessionUrl` makes (id_token_hint, a registered post_logout_redirect_uri, state),
// confirmed on the demo's logout page, ending at the relying party with its state. Refusals:
// an unregistered or unidentified post_logout_redirect_uri is a 400 without a redirect. A
// back-channel receiver (the example server's hyper notifier POSTs to it) verifies the logout
// token with the `jose` package: signature against the JWKS, `typ`, `iss`, `aud`, `sid`,
// `events`, no `nonce`.
//
// Usage: ISSUER=http://127.0.0.1:4444/ ADMIN_URL=http://127.0.0.1:4445 node end_session.mjs
import * as client from 'openid-client';
import * as jose from 'jose';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

const ISSUER = process.env.ISSUER ?? 'http://127.0.0.1:4444/';
const ADMIN_URL = process.env.ADMIN_URL ?? 'http://127.0.0.1:4445';
const CLIENT_ID = `openid-client-${process.pid}-${Date.now()}`;
const SECRET = 'openid-client-secret-0123456789';
const REDIRECT = 'https://rp.example/cb';
const BYE = 'https://rp.example/bye';

// A tiny browser: a cookie jar, one request at a time, redirects not followed.
const jar = new Map();
async function browse(url, form) {
  const headers = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(url, { method: form ? 'POST' : 'GET', headers, body, redirect: 'manual' });
  for (const cookie of res.headers.getSetCookie()) {
    const [pair, ...attrs] = cookie.split(';');
    const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
    if (value === '' || attrs.some((a) => /max-age=0/i.test(a.trim()))) jar.delete(name);
    else jar.set(name, value);
  }
  return res;
}

// Follows redirects until one leaves for `stop` (returned) or a page answers (returned).
async function follow(url, stop) {
  let res = await browse(url);
  for (let i = 0; i < 20 && res.status >= 300 && res.status < 400; i++) {
    const next = new URL(res.headers.get('location'), url).href;
    if (next.startsWith(stop)) return next;
    url = next;
    res = await browse(url);
  }
  return url;
}

// The relying party's back-channel endpoint: keeps every logout token POSTed to it.
const logoutTokens = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    logoutTokens.push(new URLSearchParams(body).get('logout_token'));
    res.writeHead(200).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const BACKCHANNEL = `http://127.0.0.1:${receiver.address().port}/backchannel`;

const hidden = (html, name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))[1];

const created = await fetch(`${ADMIN_URL}/clients`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    client_id: CLIENT_ID,
    client_secret: SECRET,
    redirect_uris: [REDIRECT],
    post_logout_redirect_uris: [BYE],
    backchannel_logout_uri: BACKCHANNEL,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    scope: 'openid',
  }),
});
assert.equal(created.status, 201, await created.text());

const config = await client.discovery(new URL(ISSUER), CLIENT_ID, undefined, client.ClientSecretBasic(SECRET), {
  execute: [client.allowInsecureRequests],
});
assert.ok(config.serverMetadata().end_session_endpoint, 'discovery names end_session_endpoint');

// Log in (remembered) and consent through the demo pages.
const verifier = client.randomPKCECodeVerifier();
const authUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: REDIRECT,
  scope: 'openid',
  state: 'login-state',
  nonce: 'nonce-0123456789',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
});
let page = await follow(authUrl.href, REDIRECT);
assert.match(page, /\/demo\/login\?/);
let html = await (await browse(page)).text();
let res = await browse(new URL('/demo/login', ISSUER).href, {
  challenge: hidden(html, 'challenge'),
  username: 'oidc-user',
  remember: '1',
  action: 'accept',
});
page = await follow(new URL(res.headers.get('location'), ISSUER).href, REDIRECT);
assert.match(page, /\/demo\/consent\?/);
html = await (await browse(page)).text();
res = await browse(new URL('/demo/consent', ISSUER).href, {
  challenge: hidden(html, 'challenge'),
  grant_scope: 'openid',
  action: 'accept',
});
const callback = await follow(new URL(res.headers.get('location'), ISSUER).href, REDIRECT);
assert.ok(callback.startsWith(REDIRECT), callback);
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier,
  expectedState: 'login-state',
  expectedNonce: 'nonce-0123456789',
});
const claims = tokens.claims();
assert.equal(claims.sub, 'oidc-user');
assert.ok(claims.sid, 'the ID token carries sid');

// Refused without redirecting: an unregistered redirect, and one without an identified client.
const unregistered = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: 'https://evil.example/',
});
res = await browse(unregistered.href);
assert.equal(res.status, 400);
assert.equal(res.headers.get('location'), null);
const anonymous = new URL(config.serverMetadata().end_session_endpoint);
anonymous.searchParams.set('post_logout_redirect_uri', BYE);
res = await browse(anonymous.href);
assert.equal(res.status, 400);
assert.equal(res.headers.get('location'), null);

// RP-initiated logout: confirm on the demo's logout page, land at the RP with its state.
const endSession = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: BYE,
  state: 'logout-state',
});
page = await follow(endSession.href, BYE);
assert.match(page, /\/demo\/logout\?logout_challenge=/);
html = await (await browse(page)).text();
assert.match(html, /oidc-user/);
res = await browse(new URL('/demo/logout', ISSUER).href, {
  challenge: hidden(html, 'challenge'),
  action: 'accept',
});
const landed = await follow(new URL(res.headers.get('location'), ISSUER).href, BYE);
assert.equal(landed, `${BYE}?state=logout-state`);

// The session is gone: a new authorization shows the login page again (no skip).
page = await follow(authUrl.href, REDIRECT);
html = await (await browse(page)).text();
assert.match(html, /id="username"/, 'the login form is shown again');

// The back channel: the server's notifier delivers within a few seconds.
for (let i = 0; i < 100 && logoutTokens.length === 0; i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
receiver.close();
assert.equal(logoutTokens.length, 1, 'one logout token was delivered');
const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
const { payload, protectedHeader } = await jose.jwtVerify(logoutTokens[0], jwks, {
  issuer: ISSUER,
  audience: CLIENT_ID,
  typ: 'logout+jwt',
});
assert.equal(protectedHeader.typ, 'logout+jwt');
assert.equal(payload.sid, claims.sid, 'the logout token names the session of the ID token');
assert.equal(payload.sub, 'oidc-user');
assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
assert.equal(payload.nonce, undefined);
assert.ok(payload.jti && payload.iat && payload.exp > payload.iat);
console.log('openid-client end-session and back-channel logout token: OK');
