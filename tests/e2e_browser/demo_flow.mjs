// Clicks through the axum example's demo app in a real headless Chromium:
//   1. start → login as a user name (with HTML metacharacters, to check escaping) → consent
//      (allow) → callback: the page shows an ID token whose `sub` is that user;
//   2. the callback's "Log out" link (RP-initiated logout with the ID token as hint) → the demo's
//      logout page names the user → confirm → back on the demo's index with `state`; a new flow
//      shows the login page again (the remembered session ended);
//   3. start → login → consent (deny) → callback: the client got `access_denied`.
//
// Usage: START_URL=http://127.0.0.1:4444/demo/start CHROMIUM=/usr/bin/chromium node demo_flow.mjs
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const START_URL = process.env.START_URL ?? 'http://127.0.0.1:4444/demo/start';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT_MS = 30_000;

function jwtClaims(jwt) {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3, `not a compact JWS: ${jwt}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

async function loginAndConsent(page, user, decision, remember = false) {
  await page.goto(START_URL);
  await page.waitForURL(/\/demo\/login\?/, { timeout: TIMEOUT_MS });
  await page.fill('#username', user);
  if (remember) {
    await page.check('input[name=remember]');
  }
  await Promise.all([page.waitForURL(/\/demo\/consent\?/), page.click('#login')]);
  assert.equal(await page.textContent('#subject'), user, 'consent page greets the user');
  const scopes = await page.$$eval('input[name=grant_scope]', (boxes) => boxes.map((b) => b.value));
  assert.ok(scopes.includes('openid'), `openid is among the requested scopes: ${scopes}`);
  await Promise.all([page.waitForURL(/\/demo\/callback\?/), page.click(decision)]);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'oauth2-provider-e2e-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
context.setDefaultTimeout(TIMEOUT_MS);
const page = context.pages()[0] ?? (await context.newPage());
let failed = false;
try {
  // Granted: the final page shows an ID token for exactly this user.
  const user = `alice <b>&"' ${Date.now()}`;
  await loginAndConsent(page, user, '#allow', true);
  const shownSubject = await page.textContent('#subject');
  const idToken = (await page.textContent('#id_token')).trim();
  const claims = jwtClaims(idToken);
  assert.equal(claims.sub, user, 'the ID token is for the user who logged in');
  assert.equal(shownSubject, user, 'the page shows the subject, escaped');
  assert.ok((await page.textContent('#access_token')).trim().length > 0, 'an access token');
  assert.match(await page.textContent('#scope'), /openid/);
  console.log(`granted: ID token for sub=${JSON.stringify(claims.sub)} aud=${JSON.stringify(claims.aud)} iss=${claims.iss}`);
  assert.ok(claims.sid, 'the ID token carries the login session id');

  // Logout: RP-initiated, confirmed on the demo's logout page, back to the demo with state.
  await Promise.all([page.waitForURL(/\/demo\/logout\?logout_challenge=/), page.click('#logout')]);
  assert.equal(await page.textContent('#subject'), user, 'the logout page names the user');
  await Promise.all([page.waitForURL(/\/demo\/\?state=/), page.click('#confirm-logout')]);
  await page.goto(START_URL);
  await page.waitForURL(/\/demo\/login\?/, { timeout: TIMEOUT_MS });
  assert.ok(await page.$('#username'), 'after logout the login page asks again');
  console.log('logout: confirmed, back at the relying party, the session ended');

  // Denied: the client receives access_denied.
  await loginAndConsent(page, 'bob', '#deny');
  assert.equal(await page.textContent('#error'), 'access_denied');
  console.log('denied: the client received access_denied');
  console.log('e2e browser flow: OK');
} catch (err) {
  failed = true;
  console.error('e2e browser flow FAILED:', err);
  console.error('at', page.url());
  console.error((await page.content().catch(() => '')).slice(0, 4000));
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
