import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';

/** An RSA signing key of a test issuer, with its public half as a JWK. */
export interface TestSigningKey {
  kid: string;
  privatePem: string;
  publicPem: string;
  jwk: Record<string, unknown>;
}

export function makeSigningKey(kid: string): TestSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
  };
}

/** A real JWKS endpoint on loopback; `keys` is what it publishes now (assign to rotate), `fetches` how often it was asked. */
export interface JwksServer {
  url: string;
  keys: TestSigningKey[];
  fetches: number;
  close(): Promise<void>;
}

/** With `hang`, the server accepts each request and never answers it. */
export async function startJwksServer(keys: TestSigningKey[], opts: { hang?: boolean } = {}): Promise<JwksServer> {
  const state: JwksServer = { url: '', keys, fetches: 0, close: async () => {} };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    if (opts.hang) return; // accepts the request and never answers
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  let closed = false;
  state.close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

/** Signs an RS256 token with `key` (its kid in the header); an option given as `undefined` is left out. */
export function signRs256(key: TestSigningKey, claims: object, opts: jwt.SignOptions): string {
  const merged: Record<string, unknown> = { algorithm: 'RS256', keyid: key.kid, expiresIn: 300, ...opts };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  return jwt.sign(claims, key.privatePem, merged as jwt.SignOptions);
}
