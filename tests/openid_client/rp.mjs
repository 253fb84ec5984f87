// openid-client (panva) runs the code flow with PKCE against the running example server for a
// client with RS256 and one with PS256 ID tokens; the `jose` package verifies every ID token
// against the published JWKS. Then the signing keys rotate through Hydra's JSON Web Key API:
// the key that signs afterwards was published before, a token signed before still verifies,
// and new tokens carry the new kid. Login and consent are accepted through the admin API.
//
//   PUBLIC_URL=http://127.0.0.1:4444 ADMIN_URL=http://127.0.0.1:4445 node rp.mjs
import assert from "node:assert/strict";
import * as client from "openid-client";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";

const PUBLIC = process.env.PUBLIC_URL ?? "http://127.0.0.1:4444";
const ADMIN = process.env.ADMIN_URL ?? "http://127.0.0.1:4445";
const ISSUER = `${PUBLIC}/`;
const REDIRECT = "http://127.0.0.1:5556/callback";
const SECRET = "openid-client-secret-0123456789abcdef";

async function admin(method, path, body) {
  const res = await fetch(`${ADMIN}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function jwks() {
  const res = await fetch(`${PUBLIC}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  return res.json();
}

/** Follows one redirect by hand, keeping the provider's cookies. */
async function get(url, jar) {
  const res = await fetch(url, {
    redirect: "manual",
    headers: jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } : {},
  });
  for (const cookie of res.headers.getSetCookie()) {
    const [pair] = cookie.split(";");
    const [name, ...value] = pair.split("=");
    jar.set(name.trim(), value.join("="));
  }
  assert.equal(res.status, 302, `GET ${url} → ${res.status}`);
  return new URL(res.headers.get("location"), url);
}

let flows = 0;

/** One code flow with openid-client; returns the verified ID token and its header. */
async function codeFlow(alg) {
  flows += 1;
  const clientId = `openid-client-${alg}-${process.pid}-${flows}`;
  const created = await admin("POST", "/clients", {
    client_id: clientId,
    client_secret: SECRET,
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    scope: "openid",
    id_token_signed_response_alg: alg,
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));

  const config = await client.discovery(
    new URL(ISSUER),
    clientId,
    { client_secret: SECRET, id_token_signed_response_alg: alg },
    client.ClientSecretBasic(SECRET),
    { execute: [client.allowInsecureRequests] },
  );
  assert.ok(
    config.serverMetadata().id_token_signing_alg_values_supported.includes(alg),
    `discovery lists ${alg}`,
  );
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorize = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: "openid",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });

  const jar = new Map();
  const login = await get(authorize, jar);
  const loginChallenge = login.searchParams.get("login_challenge");
  assert.ok(loginChallenge, `login page: ${login}`);
  const accepted = await admin(
    "PUT",
    `/oauth2/auth/requests/login/${encodeURIComponent(loginChallenge)}/accept`,
    { subject: "alice" },
  );
  assert.equal(accepted.status, 200, JSON.stringify(accepted.json));
  const consent = await get(accepted.json.redirect_to, jar);
  const consentChallenge = consent.searchParams.get("consent_challenge");
  assert.ok(consentChallenge, `consent page: ${consent}`);
  const granted = await admin(
    "PUT",
    `/oauth2/auth/requests/consent/${encodeURIComponent(consentChallenge)}/accept`,
    { grant_scope: ["openid"] },
  );
  assert.equal(granted.status, 200, JSON.stringify(granted.json));
  const callback = await get(granted.json.redirect_to, jar);
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT);

  // openid-client checks state, iss (RFC 9207), PKCE, and the ID token's claims and alg.
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  assert.equal(tokens.claims().sub, "alice");
  const header = decodeProtectedHeader(tokens.id_token);
  assert.equal(header.alg, alg);
  await verify(tokens.id_token, alg, await jwks());
  return { idToken: tokens.id_token, kid: header.kid };
}

/** `jose` verifies the signature against `set`, and iss, aud and exp. */
async function verify(idToken, alg, set) {
  const { payload } = await jwtVerify(idToken, createLocalJWKSet(set), {
    issuer: ISSUER,
    algorithms: [alg],
  });
  assert.equal(payload.sub, "alice");
}

for (const alg of ["RS256", "PS256"]) {
  const before = await jwks();
  const first = await codeFlow(alg);

  // Rotate through the JSON Web Key API: the next key signs, a new next key is published.
  const rotated = await admin("POST", "/keys/hydra.openid.id-token", { alg });
  assert.equal(rotated.status, 201, JSON.stringify(rotated.json));
  const second = await codeFlow(alg);
  assert.notEqual(second.kid, first.kid, "new tokens carry the new kid");
  assert.ok(
    before.keys.some((k) => k.kid === second.kid && k.alg === alg),
    "the key that signs now was published before it signed anything",
  );
  const after = await jwks();
  await verify(first.idToken, alg, after);
  assert.ok(after.keys.some((k) => k.kid === rotated.json.keys[0].kid), "the new next key is published");
  console.log(`${alg}: ID tokens verified by openid-client and jose across a rotation (${first.kid} → ${second.kid})`);
}
