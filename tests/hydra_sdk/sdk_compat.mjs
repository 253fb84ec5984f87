// Drives oauth2-provider through the unmodified ORY Hydra v1.0.0-beta.8 JavaScript SDK
// (`ory-hydra-sdk@1.0.0-beta.8`, a swagger-codegen superagent client, CommonJS, callback style).
// The browser side of the login/consent round (the user agent following redirects) is played with
// plain `fetch` and a hand-kept cookie jar; everything the login/consent app and the resource
// server would do goes through the SDK.
//
//   ADMIN_URL  (default http://127.0.0.1:4455)  admin API
//   PUBLIC_URL (default http://127.0.0.1:4454)  public API
//
// Exits non-zero on the first mismatch, printing what was expected and what came back.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';

// The published ory-hydra-sdk@1.0.0-beta.8 tarball was packed on a case-insensitive filesystem:
// it ships model/JSONWebKey.js and model/JSONWebKeySet.js only, while index.js, OAuth2Api.js and
// JsonWebKeyApi.js also require('./model/JsonWebKey') / ('./model/JsonWebKeySet'). On Linux a
// plain require('ory-hydra-sdk') therefore throws MODULE_NOT_FOUND before any HTTP is sent. To use
// the SDK code unchanged we resolve, for requests made from inside the SDK only, a missing relative
// module the way macOS/Windows would: by a case-insensitive file-name match in the same directory.
const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolveCaseInsensitively(request, parent, ...rest) {
  try {
    return originalResolve.call(this, request, parent, ...rest);
  } catch (e) {
    const from = parent?.filename || '';
    if (e.code !== 'MODULE_NOT_FOUND' || !request.startsWith('.') || !from.includes(`${path.sep}ory-hydra-sdk${path.sep}`)) throw e;
    const wanted = path.resolve(path.dirname(from), request);
    const dir = path.dirname(wanted);
    const base = path.basename(wanted).toLowerCase();
    const match = readdirSync(dir).find((f) => f.toLowerCase() === base || f.toLowerCase() === `${base}.js`);
    if (!match) throw e;
    return originalResolve.call(this, path.join(dir, match), parent, ...rest);
  }
};
const HydraSdk = createRequire(import.meta.url)('ory-hydra-sdk');

const ADMIN_URL = (process.env.ADMIN_URL || 'http://127.0.0.1:4455').replace(/\/+$/, '');
const PUBLIC_URL = (process.env.PUBLIC_URL || 'http://127.0.0.1:4454').replace(/\/+$/, '');

function api(basePath) {
  const client = new HydraSdk.ApiClient();
  client.basePath = basePath;
  client.timeout = 10000;
  return new HydraSdk.OAuth2Api(client);
}
const admin = api(ADMIN_URL);
const pub = api(PUBLIC_URL);

// The SDK is callback-style: callback(error, data, response). Wrap it into a promise that resolves
// to {data, response} or rejects with the superagent error (which carries .status and .response).
function call(target, method, ...args) {
  return new Promise((resolve, reject) => {
    target[method](...args, (error, data, response) => {
      if (error) reject(Object.assign(error, { sdkMethod: method }));
      else resolve({ data, response });
    });
  });
}

let passed = 0;
let failed = 0;
class Mismatch extends Error {}
function check(cond, what, detail) {
  if (!cond) {
    throw new Mismatch(`${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
  }
}
function describeError(e) {
  if (e instanceof Mismatch) return e.message;
  const res = e.response;
  if (res) {
    return `${e.sdkMethod || ''} failed: ${res.req?.method || ''} ${res.req?.path || ''} -> HTTP ${res.status} ` +
      `content-type=${res.headers?.['content-type']} body=${(res.text || '').slice(0, 500)} (${e.message})`;
  }
  return e.stack || String(e);
}
async function step(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${describeError(e)}`);
    throw e;
  }
}
// Expect the SDK call to fail with the given HTTP status (surfaced as error.status).
async function expectStatus(promise, status, what) {
  try {
    const { response } = await promise;
    throw new Mismatch(`${what}: expected an SDK error with HTTP ${status}, got success HTTP ${response?.status}`);
  } catch (e) {
    if (e instanceof Mismatch) throw e;
    check(e.status === status, `${what}: expected HTTP ${status}`, `got ${e.status} (${e.message})`);
    return e;
  }
}
function expectJson(response, what) {
  const ct = response.headers['content-type'] || '';
  check(ct.startsWith('application/json'), `${what}: content type`, ct);
}

// --- a tiny user agent: fetch with redirect: 'manual' and a cookie jar -------------------------
const jar = new Map();
function storeCookies(res) {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) || value === '';
    if (expired) jar.delete(name);
    else jar.set(name, value);
  }
}
async function browse(url) {
  const headers = {};
  if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await fetch(url, { redirect: 'manual', headers });
  storeCookies(res);
  const location = res.headers.get('location');
  return { status: res.status, location: location ? new URL(location, url).toString() : null };
}
// Follow redirects on the provider until the Location points away from PUBLIC_URL (at the login
// app, the consent app or the client's redirect URI); return that URL.
async function browseUntilLeaving(url) {
  for (let hops = 0; hops < 10; hops++) {
    const r = await browse(url);
    check(r.status >= 300 && r.status < 400 && r.location, `GET ${url}: expected a redirect`, `HTTP ${r.status}`);
    if (!r.location.startsWith(PUBLIC_URL + '/oauth2/')) return new URL(r.location);
    url = r.location;
  }
  throw new Mismatch(`too many redirects starting at ${url}`);
}

// --- the run -------------------------------------------------------------------------------------
const suffix = randomBytes(6).toString('hex');
const clientId = `sdk-compat-${suffix}`;
const redirectUri = `http://127.0.0.1:9/sdk-compat/callback`;
let clientSecret;

async function loginConsentRound(remember) {
  jar.clear();
  const state = `state-${randomBytes(8).toString('hex')}`;
  const authUrl = `${PUBLIC_URL}/oauth2/auth?client_id=${encodeURIComponent(clientId)}&response_type=code` +
    `&scope=openid%20offline&state=${state}&redirect_uri=${encodeURIComponent(redirectUri)}`;
  const toLogin = await browseUntilLeaving(authUrl);
  const loginChallenge = toLogin.searchParams.get('login_challenge');
  check(loginChallenge, 'authorization request: Location has login_challenge', toLogin.toString());

  const { data: login, response: loginRes } = await call(admin, 'getLoginRequest', loginChallenge);
  expectJson(loginRes, 'getLoginRequest');
  check(login instanceof HydraSdk.LoginRequest, 'getLoginRequest returns a LoginRequest model');
  check(login.challenge === loginChallenge, 'getLoginRequest challenge', login.challenge);
  check(login.client?.client_id === clientId, 'getLoginRequest client.client_id', login.client);
  check(JSON.stringify(login.requested_scope) === JSON.stringify(['openid', 'offline']),
    'getLoginRequest requested_scope', login.requested_scope);
  check(typeof login.skip === 'boolean', 'getLoginRequest skip is a boolean', login.skip);
  check(typeof login.request_url === 'string' && login.request_url.includes('/oauth2/auth'),
    'getLoginRequest request_url', login.request_url);

  const acceptLogin = HydraSdk.AcceptLoginRequest.constructFromObject({ subject: 'alice', remember: false });
  const { data: loginDone } = await call(admin, 'acceptLoginRequest', loginChallenge, { body: acceptLogin });
  check(loginDone instanceof HydraSdk.CompletedRequest && typeof loginDone.redirect_to === 'string',
    'acceptLoginRequest redirect_to', loginDone);

  const toConsent = await browseUntilLeaving(loginDone.redirect_to);
  const consentChallenge = toConsent.searchParams.get('consent_challenge');
  check(consentChallenge, 'after login: Location has consent_challenge', toConsent.toString());

  const { data: consent, response: consentRes } = await call(admin, 'getConsentRequest', consentChallenge);
  expectJson(consentRes, 'getConsentRequest');
  check(consent instanceof HydraSdk.ConsentRequest, 'getConsentRequest returns a ConsentRequest model');
  check(consent.challenge === consentChallenge, 'getConsentRequest challenge', consent.challenge);
  check(consent.subject === 'alice', 'getConsentRequest subject', consent.subject);
  check(consent.client?.client_id === clientId, 'getConsentRequest client.client_id', consent.client);
  check(JSON.stringify(consent.requested_scope) === JSON.stringify(['openid', 'offline']),
    'getConsentRequest requested_scope', consent.requested_scope);

  const acceptConsent = HydraSdk.AcceptConsentRequest.constructFromObject({
    grant_scope: ['openid', 'offline'],
    remember,
    remember_for: 0,
    session: { access_token: { sdk: 'compat' }, id_token: { name: 'Alice' } },
  });
  const { data: consentDone } = await call(admin, 'acceptConsentRequest', consentChallenge, { body: acceptConsent });
  check(typeof consentDone?.redirect_to === 'string', 'acceptConsentRequest redirect_to', consentDone);

  const back = await browseUntilLeaving(consentDone.redirect_to);
  check(back.toString().startsWith(redirectUri), 'final redirect goes to the client redirect URI', back.toString());
  check(back.searchParams.get('state') === state, 'final redirect carries state', back.toString());
  const code = back.searchParams.get('code');
  check(code, 'final redirect carries code', back.toString());

  const tokenRes = await fetch(`${PUBLIC_URL}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
  });
  const tokenBody = await tokenRes.text();
  check(tokenRes.status === 200, 'token exchange HTTP 200', `${tokenRes.status} ${tokenBody}`);
  const tokens = JSON.parse(tokenBody);
  check(tokens.access_token && tokens.refresh_token && tokens.id_token, 'token response has access, refresh and id tokens', tokens);
  return tokens;
}

async function main() {
  console.log(`Hydra JS SDK ${'1.0.0-beta.8'} against admin ${ADMIN_URL}, public ${PUBLIC_URL}`);

  await step('createOAuth2Client returns client_id and client_secret (201, JSON)', async () => {
    const body = HydraSdk.OAuth2Client.constructFromObject({
      client_id: clientId,
      client_name: 'SDK compat',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code', 'id_token'],
      scope: 'openid offline',
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const { data, response } = await call(admin, 'createOAuth2Client', body);
    check(response.status === 201, 'createOAuth2Client status', response.status);
    expectJson(response, 'createOAuth2Client');
    check(data instanceof HydraSdk.OAuth2Client, 'createOAuth2Client returns an OAuth2Client model');
    check(data.client_id === clientId, 'createOAuth2Client client_id', data.client_id);
    check(typeof data.client_secret === 'string' && data.client_secret.length > 0, 'createOAuth2Client client_secret', data);
    check(JSON.stringify(data.redirect_uris) === JSON.stringify([redirectUri]), 'createOAuth2Client redirect_uris', data.redirect_uris);
    check(JSON.stringify(data.grant_types) === JSON.stringify(['authorization_code', 'refresh_token']), 'createOAuth2Client grant_types', data.grant_types);
    check(JSON.stringify(data.response_types) === JSON.stringify(['code', 'id_token']), 'createOAuth2Client response_types', data.response_types);
    check(data.scope === 'openid offline', 'createOAuth2Client scope', data.scope);
    clientSecret = data.client_secret;
  });

  await step('getOAuth2Client returns the client without its secret', async () => {
    const { data, response } = await call(admin, 'getOAuth2Client', clientId);
    check(response.status === 200, 'getOAuth2Client status', response.status);
    expectJson(response, 'getOAuth2Client');
    check(data.client_id === clientId, 'getOAuth2Client client_id', data.client_id);
    check(data.client_name === 'SDK compat', 'getOAuth2Client client_name', data.client_name);
    check(data.client_secret === undefined || data.client_secret === '', 'getOAuth2Client client_secret absent', data.client_secret);
  });

  await step('listOAuth2Clients contains the client', async () => {
    const { data, response } = await call(admin, 'listOAuth2Clients', { limit: 500, offset: 0 });
    check(response.status === 200, 'listOAuth2Clients status', response.status);
    check(Array.isArray(data), 'listOAuth2Clients returns an array', data);
    check(data.every((c) => c instanceof HydraSdk.OAuth2Client), 'listOAuth2Clients items are OAuth2Client models');
    check(data.some((c) => c.client_id === clientId), `listOAuth2Clients contains ${clientId}`, data.map((c) => c.client_id));
  });

  await step('updateOAuth2Client changes client_name', async () => {
    const { data: current } = await call(admin, 'getOAuth2Client', clientId);
    current.client_name = 'SDK compat (updated)';
    current.client_secret = clientSecret; // keep the secret we know (Hydra re-hashes what it is sent)
    const { data, response } = await call(admin, 'updateOAuth2Client', clientId, current);
    check(response.status === 200, 'updateOAuth2Client status', response.status);
    check(data.client_name === 'SDK compat (updated)', 'updateOAuth2Client client_name in response', data.client_name);
    const { data: again } = await call(admin, 'getOAuth2Client', clientId);
    check(again.client_name === 'SDK compat (updated)', 'getOAuth2Client after update: client_name', again.client_name);
    check(JSON.stringify(again.redirect_uris) === JSON.stringify([redirectUri]), 'update kept redirect_uris', again.redirect_uris);
  });

  await step('wellKnown (public /.well-known/jwks.json) has keys', async () => {
    const { data, response } = await call(pub, 'wellKnown');
    expectJson(response, 'wellKnown');
    check(data instanceof HydraSdk.JsonWebKeySet, 'wellKnown returns a JsonWebKeySet model');
    check(Array.isArray(data.keys) && data.keys.length > 0, 'wellKnown keys non-empty', data);
    const k = data.keys[0];
    check(k.kid && k.kty && k.alg && k.use, 'first JWK has kid, kty, alg, use', k);
  });

  await step('getWellKnown (OpenID discovery) has the issuer', async () => {
    const { data, response } = await call(pub, 'getWellKnown');
    expectJson(response, 'getWellKnown');
    check(data instanceof HydraSdk.WellKnown, 'getWellKnown returns a WellKnown model');
    check(typeof data.issuer === 'string' && data.issuer.startsWith('http'), 'getWellKnown issuer', data.issuer);
    check(data.authorization_endpoint && data.token_endpoint && data.jwks_uri, 'getWellKnown endpoints', data);
  });

  let tokens;
  await step('login/consent round (remember=false) → code → tokens', async () => {
    tokens = await loginConsentRound(false);
  });

  await step('introspectOAuth2Token: active, sub alice', async () => {
    const { data, response } = await call(admin, 'introspectOAuth2Token', tokens.access_token, {});
    expectJson(response, 'introspectOAuth2Token');
    check(data instanceof HydraSdk.OAuth2TokenIntrospection, 'introspectOAuth2Token returns an OAuth2TokenIntrospection model');
    check(data.active === true, 'introspection active', data);
    check(data.sub === 'alice', 'introspection sub', data.sub);
    check(data.client_id === clientId, 'introspection client_id', data.client_id);
    check(typeof data.scope === 'string' && data.scope.split(' ').includes('openid'), 'introspection scope', data.scope);
    const { data: bogus } = await call(admin, 'introspectOAuth2Token', 'not-a-token', {});
    check(bogus.active === false, 'introspection of garbage is inactive', bogus);
  });

  await step('listUserConsentSessions(alice) succeeds with an array', async () => {
    const { data, response } = await call(admin, 'listUserConsentSessions', 'alice');
    check(response.status === 200, 'listUserConsentSessions status', response.status);
    check(Array.isArray(data), 'listUserConsentSessions returns an array', data);
  });

  await step('login/consent round (consent remember=true) → code → tokens', async () => {
    tokens = await loginConsentRound(true);
  });

  await step('listUserConsentSessions(alice) lists the remembered consent', async () => {
    const { data } = await call(admin, 'listUserConsentSessions', 'alice');
    check(Array.isArray(data) && data.length > 0, 'listUserConsentSessions non-empty after remember=true', data);
    const mine = data.find((s) => s.consent_request?.client?.client_id === clientId);
    check(mine, `a session for ${clientId}`, data);
    check(mine instanceof HydraSdk.PreviousConsentSession, 'items are PreviousConsentSession models');
    check(JSON.stringify(mine.grant_scope) === JSON.stringify(['openid', 'offline']), 'session grant_scope', mine.grant_scope);
    check(mine.consent_request.subject === 'alice', 'session consent_request.subject', mine.consent_request);
  });

  await step('revokeAllUserConsentSessions(alice) → 204', async () => {
    const { data, response } = await call(admin, 'revokeAllUserConsentSessions', 'alice');
    check(response.status === 204, 'revokeAllUserConsentSessions status', response.status);
    check(data === null, 'revokeAllUserConsentSessions data is null', data);
    const { data: after } = await call(admin, 'listUserConsentSessions', 'alice');
    check(Array.isArray(after) && !after.some((s) => s.consent_request?.client?.client_id === clientId),
      'no remembered consent for the client after revocation', after);
  });

  await step('revokeAuthenticationSession(subject without sessions) → SDK error 404', async () => {
    const e = await expectStatus(call(admin, 'revokeAuthenticationSession', `nobody-${suffix}`), 404, 'revokeAuthenticationSession');
    const body = e.response?.body;
    check(body && typeof body.error === 'string', '404 body is a Hydra error object with "error"', e.response?.text);
  });

  await step('flushInactiveOAuth2Tokens({notAfter: now}) → 204', async () => {
    const body = HydraSdk.FlushInactiveOAuth2TokensRequest.constructFromObject({ notAfter: new Date() });
    const { data, response } = await call(admin, 'flushInactiveOAuth2Tokens', { body });
    check(response.status === 204, 'flushInactiveOAuth2Tokens status', response.status);
    check(data === null, 'flushInactiveOAuth2Tokens data is null', data);
  });

  await step('deleteOAuth2Client → 204', async () => {
    const { response } = await call(admin, 'deleteOAuth2Client', clientId);
    check(response.status === 204, 'deleteOAuth2Client status', response.status);
  });

  await step('getOAuth2Client after delete → SDK error 404', async () => {
    const e = await expectStatus(call(admin, 'getOAuth2Client', clientId), 404, 'getOAuth2Client after delete');
    const ct = e.response?.headers?.['content-type'] || '';
    check(ct.startsWith('application/json'), '404 content type', ct);
    check(typeof e.response?.body?.error === 'string', '404 body has "error"', e.response?.text);
  });
}

try {
  await main();
} catch {
  // step() already printed the failure; try not to leave the client behind.
  if (clientSecret !== undefined) await call(admin, 'deleteOAuth2Client', clientId).catch(() => {});
}
console.log(`sdk compat: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
