// The official MCP TypeScript SDK as the client of the running examples, end to end: the axum
// example (the authorization server, with its demo login and consent pages) and the protected
// resource example (an MCP server that accepts only tokens issued for itself).
//
//   node e2e.mjs --mode=dcr|cimd|preregistered
//
// 1. The SDK's transport POSTs `initialize` without a token and gets 401 with
//    `WWW-Authenticate: Bearer resource_metadata="…"`; the SDK reads the protected resource
//    metadata (RFC 9728), then the authorization server's (RFC 8414).
// 2. The client gets a client_id: `dcr`, the SDK registers it (RFC 7591); `cimd`, its client_id
//    is the URL of a client ID metadata document this script serves on a loopback port, which
//    the authorization server must fetch; `preregistered`, created through the admin API first.
// 3. Authorization code + PKCE + `resource` (RFC 8707): the authorization URL the SDK builds is
//    followed like a browser (cookies kept, redirects followed by hand) through the demo login
//    and consent forms, up to the redirect URI with the code; the SDK redeems it.
// 4. The token's `aud` (introspected at the admin API) is the resource; the SDK client connects
//    with it and lists and calls the tools.
// 5. A token obtained for another resource is refused by the protected resource (401
//    invalid_token).
//
// Each step is printed; any failure exits 1.
//
// Environment: ISSUER (default http://127.0.0.1:4444/), ADMIN_URL (http://127.0.0.1:4445),
// MCP_URL (http://127.0.0.1:4446/mcp), OTHER_RESOURCE (https://other.example/).
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  UnauthorizedError,
  discoverOAuthServerInfo,
  exchangeAuthorization,
  isHttpsUrl,
  startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';

const MODES = ['dcr', 'cimd', 'preregistered'];
const modeArg = process.argv.slice(2).find((a) => a.startsWith('--mode='));
const mode = modeArg?.slice('--mode='.length);
if (!MODES.includes(mode)) {
  console.error(`usage: node e2e.mjs --mode=${MODES.join('|')}`);
  process.exit(2);
}
const ISSUER = process.env.ISSUER || 'http://127.0.0.1:4444/';
const ADMIN_URL = (process.env.ADMIN_URL || 'http://127.0.0.1:4445').replace(/\/+$/, '');
const MCP_URL = process.env.MCP_URL || 'http://127.0.0.1:4446/mcp';
const OTHER_RESOURCE = process.env.OTHER_RESOURCE || 'https://other.example/';
const USER = `mcp-e2e-${mode}`;

let stepNo = 0;
const step = (what) => console.log(`\n[${mode}] ${++stepNo}. ${what}`);
const info = (...what) => console.log('   ', ...what);
class Failure extends Error {}
const fail = (why) => {
  throw new Failure(why);
};
const short = (token) => (token ? `${token.slice(0, 12)}…(${token.length} chars)` : String(token));

// Every request the SDK makes, printed as it happens.
const loggingFetch = async (url, init) => {
  const res = await fetch(url, init);
  info(`${init?.method ?? 'GET'} ${url} → ${res.status}`);
  return res;
};

// --- The client's own loopback server: its redirect URI and, in cimd mode, its document. ---

const documentFetches = [];
let clientDocument;
const loopback = http.createServer((req, res) => {
  if (req.url === '/client.json' && clientDocument) {
    documentFetches.push(new Date().toISOString());
    info(`(the authorization server fetched the client ID metadata document ${req.url})`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(clientDocument));
    return;
  }
  // The redirect URI is never followed by this script (it stops at the Location), but a
  // stray browser visit gets an answer.
  res.writeHead(req.url.startsWith('/callback') ? 200 : 404, { 'content-type': 'text/plain' });
  res.end('oauth2-provider MCP e2e client\n');
});
await new Promise((resolve) => loopback.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${loopback.address().port}`;
const redirectUrl = `${base}/callback`;
const documentUrl = `${base}/client.json`;

// --- The browser: cookies and redirects by hand, the demo's forms filled in. ---

const jar = new Map();
const decodeHtml = (text) =>
  text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, entity) => {
    const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity.toLowerCase()];
    if (named) return named;
    return String.fromCodePoint(
      entity[1].toLowerCase() === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10),
    );
  });
const attr = (tag, name) => {
  const m = tag.match(new RegExp(`\\b${name}="([^"]*)"`));
  return m ? decodeHtml(m[1]) : undefined;
};

/** The demo form of a page: its action and the fields a user submitting "accept" sends. */
function demoForm(html, pageUrl) {
  const form = html.match(/<form\b[^>]*>/)?.[0];
  if (!form) fail(`no form on ${pageUrl}: ${html.slice(0, 300)}`);
  const fields = new URLSearchParams();
  for (const input of html.match(/<input\b[^>]*>/g) ?? []) {
    const type = attr(input, 'type') ?? 'text';
    const name = attr(input, 'name');
    if (!name) continue;
    if (type === 'hidden') fields.append(name, attr(input, 'value') ?? '');
    // The consent page's scopes come checked; "remember" does not, and stays unticked.
    if (type === 'checkbox' && /\bchecked\b/.test(input)) fields.append(name, attr(input, 'value') ?? '');
    if (name === 'username') fields.append(name, USER);
  }
  fields.append('action', 'accept');
  return { action: new URL(attr(form, 'action'), pageUrl).href, fields };
}

/** Follows `url` as a browser would, through login and consent, to the redirect URI. */
async function browse(url) {
  let next = String(url);
  let body;
  for (let hop = 0; hop < 20; hop++) {
    if (next.startsWith(`${redirectUrl}?`)) return new URL(next);
    const headers = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(next, { method: body ? 'POST' : 'GET', headers, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const [name, value] = [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()];
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
    const where = new URL(next);
    info(`browser ${body ? 'POST' : 'GET'} ${where.origin}${where.pathname} → ${res.status}`);
    body = undefined;
    if (res.status >= 300 && res.status < 400) {
      next = new URL(res.headers.get('location'), next).href;
      await res.body?.cancel();
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) fail(`${res.status} from ${next}: ${html.slice(0, 500)}`);
    if (!/\/demo\/(login|consent)$/.test(where.pathname)) fail(`unexpected page ${next}: ${html.slice(0, 300)}`);
    const form = demoForm(html, next);
    if (where.pathname.endsWith('/consent')) {
      const granted = (name) => form.fields.getAll(name).join(' ') || '(none)';
      info(`consent: granting scope ${granted('grant_scope')}, audience ${granted('grant_access_token_audience')}`);
    }
    next = form.action;
    body = form.fields.toString();
  }
  fail(`no redirect to ${redirectUrl} after 20 hops`);
}

/** The authorization response: the code, after checking `state` and RFC 9207 `iss`. */
function codeFrom(callback, state) {
  const params = callback.searchParams;
  if (params.get('error')) fail(`authorization error: ${params.get('error')}: ${params.get('error_description')}`);
  if (params.get('state') !== state) fail(`state ${params.get('state')} is not ${state}`);
  if (params.get('iss') !== ISSUER) fail(`iss ${params.get('iss')} is not ${ISSUER}`);
  const code = params.get('code');
  if (!code) fail(`no code in ${callback}`);
  return code;
}

async function introspect(token) {
  const res = await fetch(`${ADMIN_URL}/oauth2/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  if (res.status !== 200) fail(`introspection answered ${res.status}`);
  return res.json();
}

// --- The OAuthClientProvider: what the SDK asks the application for. ---

class Provider {
  constructor() {
    this.stored = {};
    this.states = [];
  }
  get redirectUrl() {
    return redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: `oauth2-provider MCP e2e (${mode})`,
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    const state = randomBytes(16).toString('base64url');
    this.states.push(state);
    return state;
  }
  clientInformation() {
    return this.stored.client;
  }
  saveClientInformation(client) {
    if (!this.stored.client) info(`client_id ${client.client_id} (saved by the SDK)`);
    this.stored.client = client;
  }
  tokens() {
    return this.stored.tokens;
  }
  saveTokens(tokens) {
    this.stored.tokens = tokens;
  }
  saveCodeVerifier(verifier) {
    this.stored.verifier = verifier;
  }
  codeVerifier() {
    return this.stored.verifier;
  }
  saveDiscoveryState(state) {
    this.stored.discovery = state;
  }
  discoveryState() {
    return this.stored.discovery;
  }
  async redirectToAuthorization(url) {
    this.authorizationUrl = url;
  }
}

const provider = new Provider();
const run = async () => {
  try {
    step('the SDK connects without a token: 401, then discovery (PRM → AS metadata), registration, authorization request');
    let transport = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider, fetch: loggingFetch });
    let client = new Client({ name: 'oauth2-provider-mcp-e2e', version: '0.0.0' });
    try {
      await client.connect(transport);
      fail('connected without authorization');
    } catch (e) {
      if (!(e instanceof UnauthorizedError)) throw e;
      info('UnauthorizedError: the SDK wants the user to authorize');
    }
    const discovery = provider.stored.discovery;
    const prm = discovery?.resourceMetadata;
    const asMetadata = discovery?.authorizationServerMetadata;
    if (!prm) fail('the SDK found no protected resource metadata');
    info('protected resource metadata:', JSON.stringify(prm));
    if (prm.resource !== MCP_URL) fail(`PRM resource ${prm.resource} is not ${MCP_URL}`);
    if (JSON.stringify(prm.authorization_servers) !== JSON.stringify([ISSUER])) fail('PRM authorization_servers');
    if (asMetadata?.issuer !== ISSUER) fail(`AS metadata issuer ${asMetadata?.issuer}`);
    info(`authorization server ${discovery.authorizationServerUrl}: registration_endpoint=${asMetadata.registration_endpoint}, client_id_metadata_document_supported=${asMetadata.client_id_metadata_document_supported}`);
    const clientId = provider.stored.client?.client_id;
    if (mode === 'dcr' && !(clientId && clientId !== documentUrl)) fail('no dynamically registered client');
    if (mode === 'cimd' && clientId !== documentUrl) fail(`client_id ${clientId} is not the document URL`);
    const authorizationUrl = provider.authorizationUrl;
    if (!authorizationUrl) fail('the SDK did not ask to redirect to the authorization endpoint');
    const asked = authorizationUrl.searchParams;
    info(`authorization request: ${authorizationUrl.origin}${authorizationUrl.pathname} client_id=${asked.get('client_id')} scope=${asked.get('scope')} resource=${asked.get('resource')} code_challenge_method=${asked.get('code_challenge_method')}`);
    if (asked.get('resource') !== MCP_URL) fail(`resource ${asked.get('resource')} is not ${MCP_URL}`);
    if (asked.get('code_challenge_method') !== 'S256') fail('no S256 PKCE');

    step(`the user logs in as ${USER} and consents on the demo pages`);
    const callback = await browse(authorizationUrl);
    const code = codeFrom(callback, provider.states.at(-1));
    info(`code ${short(code)}, state and iss checked`);
    if (mode === 'cimd' && documentFetches.length === 0) fail('the authorization server never fetched the client ID metadata document');

    step('the SDK redeems the code (PKCE verifier + resource)');
    await transport.finishAuth(code);
    const tokens = provider.stored.tokens;
    info(`access token ${short(tokens?.access_token)}, token_type ${tokens?.token_type}, scope ${tokens?.scope}`);
    if (mode === 'preregistered' && !tokens?.access_token?.startsWith('eyJ')) {
      fail('the pre-registered client (access_token_strategy jwt) got no JWT access token');
    }
    const introspection = await introspect(tokens.access_token);
    info('introspection:', JSON.stringify(introspection));
    if (!introspection.active) fail('the access token is not active');
    if (!introspection.aud?.includes(MCP_URL)) fail(`aud ${JSON.stringify(introspection.aud)} does not hold ${MCP_URL}`);

    step('the SDK connects with the token, lists and calls the tools');
    transport = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider, fetch: loggingFetch });
    client = new Client({ name: 'oauth2-provider-mcp-e2e', version: '0.0.0' });
    await client.connect(transport);
    info(`connected: server ${JSON.stringify(client.getServerVersion())}, protocol ${transport.protocolVersion}`);
    const { tools } = await client.listTools();
    info(`tools/list: ${tools.map((t) => t.name).join(', ')}`);
    if (!tools.some((t) => t.name === 'whoami')) fail('no whoami tool');
    const called = await client.callTool({ name: 'whoami', arguments: {} });
    const whoami = JSON.parse(called.content[0].text);
    info('whoami:', JSON.stringify(whoami));
    if (whoami.sub !== USER) fail(`the resource saw subject ${whoami.sub}, not ${USER}`);
    if (!whoami.aud.includes(MCP_URL)) fail('the resource saw another audience');
    await client.close();

    step(`a token for another resource (${OTHER_RESOURCE}) is refused`);
    const clientInformation = provider.stored.client;
    const other = new URL(OTHER_RESOURCE);
    const otherState = randomBytes(16).toString('base64url');
    const started = await startAuthorization(discovery.authorizationServerUrl, {
      metadata: asMetadata,
      clientInformation,
      redirectUrl,
      scope: asked.get('scope'),
      state: otherState,
      resource: other,
    });
    const otherCode = codeFrom(await browse(started.authorizationUrl), otherState);
    const otherTokens = await exchangeAuthorization(discovery.authorizationServerUrl, {
      metadata: asMetadata,
      clientInformation,
      authorizationCode: otherCode,
      codeVerifier: started.codeVerifier,
      redirectUri: redirectUrl,
      resource: other,
      fetchFn: loggingFetch,
    });
    const otherIntrospection = await introspect(otherTokens.access_token);
    info('introspection:', JSON.stringify(otherIntrospection));
    if (!otherIntrospection.active) fail('the other token is not active');
    if (!otherIntrospection.aud?.includes(OTHER_RESOURCE)) fail(`the other token is not for ${OTHER_RESOURCE}`);
    if (otherIntrospection.aud.includes(MCP_URL)) fail(`the other token is also for ${MCP_URL}`);
    const refused = await fetch(MCP_URL, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${otherTokens.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    const challenge = refused.headers.get('www-authenticate') ?? '';
    info(`POST ${MCP_URL} with it → ${refused.status} WWW-Authenticate: ${challenge}`);
    if (refused.status !== 401 || !challenge.includes('error="invalid_token"')) fail('the other resource\'s token was not refused with invalid_token');
    if (!challenge.includes(`resource_metadata="`)) fail('no resource_metadata in the challenge');

    console.log(`\n[${mode}] passed: discovery, ${mode} client, code + PKCE + resource, aud = ${MCP_URL}, tools/list and tools/call, foreign token refused`);
  } catch (e) {
    console.error(`\n[${mode}] FAILED at step ${stepNo}: ${e instanceof Failure ? e.message : e.stack ?? e}`);
    process.exitCode = 1;
  }
};

// --- Registration mode set-up, then the run. ---

step(`set-up (${mode})`);
info(`issuer ${ISSUER}, admin ${ADMIN_URL}, MCP server ${MCP_URL}, client loopback ${base}`);
if (mode === 'preregistered') {
  const res = await fetch(`${ADMIN_URL}/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // RFC 9068 JWT access tokens, which the protected resource verifies itself.
    body: JSON.stringify({ ...provider.clientMetadata, scope: 'mcp:tools', access_token_strategy: 'jwt' }),
  });
  const created = await res.json();
  if (res.status !== 201) {
    console.error(`creating the client answered ${res.status}: ${JSON.stringify(created)}`);
    process.exit(1);
  }
  info(`created client ${created.client_id} through the admin API`);
  provider.stored.client = { client_id: created.client_id };
} else if (mode === 'cimd') {
  clientDocument = { client_id: documentUrl, ...provider.clientMetadata, scope: 'mcp:tools' };
  info(`client ID metadata document at ${documentUrl}`);
  // The SDK takes a client ID metadata URL only over https (`isHttpsUrl`); over loopback http
  // (CI) the client starts from the client information the SDK itself stores when it picks
  // a URL-based client_id, which is that URL and nothing else.
  if (isHttpsUrl(documentUrl)) {
    Object.defineProperty(provider, 'clientMetadataUrl', { value: documentUrl });
  } else {
    provider.stored.client = { client_id: documentUrl };
  }
}
const discovered = await discoverOAuthServerInfo(new URL(MCP_URL), { fetchFn: async (url, init) => fetch(url, init) });
const asMeta = discovered.authorizationServerMetadata;
if (mode === 'dcr' && !asMeta?.registration_endpoint) {
  console.error('the authorization server advertises no registration_endpoint: start it with dynamic registration on');
  process.exitCode = 1;
} else if (mode === 'cimd' && asMeta?.client_id_metadata_document_supported !== true) {
  console.error('the authorization server does not advertise client_id_metadata_document_supported: start it with client ID metadata documents on');
  process.exitCode = 1;
} else {
  await run();
}
loopback.close();
