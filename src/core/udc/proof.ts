/**
 * The droplet's proof of work (`GET /proof`): its most recently completed operation, signed
 * with the droplet's key so any peer can check it against `/.well-known/jwks.json`.
 *
 * The completing transition (operations/scripts.ts) keeps that operation's id in one key as
 * part of the same atomic write, so reading the proof costs two lookups, whatever the history.
 */
import { createHash } from 'node:crypto';
import type { CoreContext } from '../context.js';
import { secretBox } from '../secrets/secret-key.js';
import { canonicalJson, DropletSigner } from './signing.js';

export interface DropletProof {
  /** What was done: the operation's type and what it was done to, e.g. `server.create:web-01`. */
  action: string;
  /** When it completed. */
  timestamp: string;
  trace_id: string;
  droplet_id: number;
  operation_id: string;
  /** A compact RS256 JWS over the fields above (see DropletSigner.signProof). */
  signature: string;
}

/** This process's signer for the context's configuration (loaded once; see DropletSigner.load). */
export function signerFor(ctx: CoreContext): Promise<DropletSigner> {
  return DropletSigner.load(ctx.redis, ctx.keys, ctx.config, secretBox(ctx.config));
}

function describe(target: Record<string, unknown> | null): string {
  const name = target?.hostname ?? target?.server_id ?? target?.name;
  return typeof name === 'string' && name !== '' ? `:${name}` : '';
}

// A proof signs to the same bytes every time, so the last one is kept per operation id.
let cached: { prefix: string; operationId: string; kid: string; proof: DropletProof } | null = null;

/** The latest proof, or null when no operation has completed yet. */
export async function latestProof(ctx: CoreContext): Promise<DropletProof | null> {
  const id = await ctx.redis.get(ctx.keys.lastCompleted());
  if (id === null) return null;
  const signer = await signerFor(ctx);
  if (cached?.prefix === ctx.keys.prefix && cached.operationId === id && cached.kid === signer.kid) return cached.proof;
  const op = await ctx.store.get(id);
  if (!op || op.status !== 'completed') return null;
  const claims = {
    action: `${op.type}${describe(op.target)}`,
    timestamp: op.finished_at ?? op.updated_at,
    trace_id: op.trace_id,
    droplet_id: ctx.config.droplet.id,
    operation_id: op.id,
  };
  const proof: DropletProof = { ...claims, signature: signer.signProof(claims) };
  cached = { prefix: ctx.keys.prefix, operationId: id, kid: signer.kid, proof };
  return proof;
}

/** `/health`'s `proof`: the SHA-256 (hex) of the canonical JSON of the latest proof. */
export function proofHash(proof: DropletProof | null): string | null {
  return proof === null ? null : createHash('sha256').update(canonicalJson(proof)).digest('hex');
}
