// The official MCP TypeScript SDK discovers the running server's authorization server
// metadata as an MCP client does (`discoverAuthorizationServerMetadata`: RFC 8414 first,
// path-inserted for an issuer with a path, then OpenID discovery) and must get the RFC 8414
// document, with the issuer it asked for, byte for byte (RFC 8414 §3.3).
//
//   ISSUER=http://127.0.0.1:4444/ node metadata.mjs
import { discoverAuthorizationServerMetadata } from '@modelcontextprotocol/sdk/client/auth.js';

const issuer = process.env.ISSUER;
if (!issuer) throw new Error('set ISSUER to the server\'s issuer URL');
const tried = [];
const fetchFn = async (url, init) => {
  const res = await fetch(url, init);
  tried.push(`${res.status} ${url}`);
  return res;
};
const metadata = await discoverAuthorizationServerMetadata(issuer, { fetchFn });
console.log(tried.join('\n'));
const fail = (why) => {
  console.error(`MCP SDK discovery: ${why}`, JSON.stringify(metadata));
  process.exit(1);
};
if (!metadata) fail('no metadata found');
if (!tried[0]?.startsWith('200 ') || !tried[0].includes('/.well-known/oauth-authorization-server')) {
  fail('the first URL the SDK tries, the RFC 8414 one, did not answer');
}
if ('userinfo_endpoint' in metadata) fail('the OpenID document came back, not RFC 8414\'s');
if (metadata.issuer !== issuer) fail(`issuer ${metadata.issuer} is not ${issuer}`);
const base = issuer.replace(/\/+$/, '');
for (const [field, want] of [
  ['authorization_endpoint', `${base}/oauth2/auth`],
  ['token_endpoint', `${base}/oauth2/token`],
  ['revocation_endpoint', `${base}/oauth2/revoke`],
]) {
  if (metadata[field] !== want) fail(`${field} is ${metadata[field]}, not ${want}`);
}
if (JSON.stringify(metadata.code_challenge_methods_supported) !== '["S256"]') fail('PKCE S256');
if (metadata.authorization_response_iss_parameter_supported !== true) fail('RFC 9207 iss');
if (!metadata.response_types_supported.includes('code')) fail('response type code');
console.log('MCP SDK discovered the RFC 8414 metadata of', issuer);
