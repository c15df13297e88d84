// A real OpenID Provider for the tests: oidc-provider (OpenID certified) with two signing
// keys it never shows, one client, and dev interactions (a plain login form: any password).
// Accounts: the login name is the e-mail; "unverified+<email>" marks it unverified.
// POST /__test/tamper {"mode": "aud" | "nonce" | "signature" | "expired" | null} makes the
// next ID tokens wrong in that one way (re-signed), as a broken or hostile provider would.
//
// Usage: node provider.mjs <port> <redirect_uri> ; prints "ready" once listening.
import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

const [port, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const signing = await generateKeyPair('RS256', { extractable: true });
const rogue = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(signing.privateKey)), kid: 'main', alg: 'RS256', use: 'sig' };

let tamper = null;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'taskmanager',
    client_secret: 'test-client-secret-0123456789',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const unverified = id.startsWith('unverified+');
    const email = unverified ? id.slice('unverified+'.length) : id;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email, email_verified: !unverified, name: email.split('@')[0] };
      },
    };
  },
});
provider.proxy = false;

async function resign(idToken) {
  const claims = decodeJwt(idToken);
  const header = decodeProtectedHeader(idToken);
  let key = signing.privateKey;
  if (tamper === 'aud') claims.aud = 'someone-else';
  if (tamper === 'nonce') claims.nonce = 'not-the-nonce-you-sent';
  if (tamper === 'expired') {
    claims.iat -= 7200;
    claims.exp = claims.iat + 60;
  }
  if (tamper === 'signature') key = rogue.privateKey; // same kid: only the signature is wrong
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/tamper' && ctx.method === 'POST') {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    tamper = JSON.parse(Buffer.concat(chunks).toString() || '{}').mode ?? null;
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token) };
  }
});

provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
