/**
 * Glossary
 * - intake pause: a workspace or a provider whose new operations are accepted but not started.
 *   They wait `pending` with `progress.step = "paused"`; operations already running go on.
 * - held operation: a pending operation a worker found paused before it claimed it. Its job
 *   sleeps in BullMQ's delayed set (rechecked every INTAKE_RECHECK_MS) and its id is in the
 *   pause's held set; lifting the pause promotes every held job at once.
 */
import type { Redis } from 'ioredis';
import type { Access } from '../auth/access.js';
import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes, ValidationError } from '../../common/errors.js';
import type { Keys } from '../keys.js';
import { luaScript, type ScriptRunner } from '../lua.js';
import { APPEND_EVENT } from '../operations/scripts.js';
import { wakeJob } from '../queue.js';
import { PROVIDER_NAMES, type ProviderName } from '../../common/provider.js';

export type PauseScope = 'workspace' | 'provider';
export const PAUSE_SCOPES: readonly PauseScope[] = ['workspace', 'provider'];

export interface IntakePause {
  scope: PauseScope;
  name: string;
  reason: string;
  paused_by: string;
  paused_at: string;
}

export interface IntakePauseView extends IntakePause {
  /** How many pending operations the pause holds back right now. */
  held: number;
}

/** A held job looks again this often, should the announcement of the resume be missed. */
export const INTAKE_RECHECK_MS = 30_000;
/** How long a process trusts its copy of the pauses without an announcement. */
const CACHE_TTL_MS = 2_000;

const field = (scope: PauseScope, name: string) => `${scope}:${name}`;

/** The progress a held operation shows. */
export function pausedMessage(pause: Pick<IntakePause, 'scope' | 'name' | 'reason'>): string {
  return `intake paused for ${pause.scope} ${pause.name}${pause.reason ? `: ${pause.reason}` : ''}`;
}

/**
 * ARGV: prefix, id, pause field, progress (JSON), now, message. Holds a pending operation back
 * while the pause (checked here, atomically with the resume's lift) still stands: its id goes
 * into the pause's held set and its progress says why (written once, not at every recheck).
 * Returns 'held', 'lifted' (no such pause any more) or 'not_pending'.
 */
const HOLD = `
${APPEND_EVENT}
local prefix, id, pause = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HEXISTS', prefix .. ':intake:pauses', pause) == 0 then return 'lifted' end
local key = prefix .. ':op:' .. id
local cur = redis.call('HMGET', key, 'status', 'type', 'workspace', 'progress')
if cur[1] ~= 'pending' then return 'not_pending' end
redis.call('SADD', prefix .. ':intake:held:' .. pause, id)
local shown = cur[4] and cjson.decode(cur[4]) or nil
if not shown or shown.step ~= 'paused' or shown.message ~= ARGV[6] then
  redis.call('HSET', key, 'progress', ARGV[4], 'updated_at', ARGV[5])
  append_event(prefix, id, 'progress', cur[2], cur[3], 'pending', 'pending', ARGV[5], ARGV[6])
end
return 'held'`;

/**
 * ARGV: prefix, pause field, now. Lifts a pause and hands back what it held: each still-pending
 * operation loses its "paused" progress. Returns {existed (0|1), id, provider, type, ...}.
 */
const LIFT = `
${APPEND_EVENT}
local prefix, pause, now = ARGV[1], ARGV[2], ARGV[3]
local existed = redis.call('HDEL', prefix .. ':intake:pauses', pause)
local held_key = prefix .. ':intake:held:' .. pause
local ids = redis.call('SMEMBERS', held_key)
redis.call('DEL', held_key)
local reply = {existed}
for _, id in ipairs(ids) do
  local key = prefix .. ':op:' .. id
  local cur = redis.call('HMGET', key, 'status', 'type', 'workspace', 'progress', 'provider')
  if cur[1] == 'pending' then
    local shown = cur[4] and cjson.decode(cur[4]) or nil
    if shown and shown.step == 'paused' then
      redis.call('HDEL', key, 'progress')
      redis.call('HSET', key, 'updated_at', now)
      append_event(prefix, id, 'progress', cur[2], cur[3], 'pending', 'pending', now, 'intake resumed')
    end
    reply[#reply + 1] = id
    reply[#reply + 1] = cur[5]
    reply[#reply + 1] = cur[2]
  end
end
return reply`;

/**
 * The pauses in Redis (one hash, one field per pause) and this process's copy of them: the
 * worker reads the copy before every claim, so a system with no pause pays nothing; a change
 * is announced on a channel that drops every copy, and a copy older than 2 s is read again.
 */
export class IntakePauses {
  private readonly holdScript: ScriptRunner;
  private readonly liftScript: ScriptRunner;
  private copy: { at: number; pauses: Map<string, IntakePause> } | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.holdScript = luaScript(redis, 'peIntakeHold', HOLD);
    this.liftScript = luaScript(redis, 'peIntakeLift', LIFT);
  }

  async all(): Promise<IntakePause[]> {
    const raw = await this.redis.hgetall(this.keys.intakePauses());
    return Object.values(raw)
      .map((v) => JSON.parse(v) as IntakePause)
      .sort((a, b) => a.paused_at.localeCompare(b.paused_at));
  }

  /** Writes the pause unless it stands already; the one that stands is the answer either way. */
  async pause(p: IntakePause): Promise<{ pause: IntakePause; created: boolean }> {
    const created = (await this.redis.hsetnx(this.keys.intakePauses(), field(p.scope, p.name), JSON.stringify(p))) === 1;
    if (created) await this.announce();
    const raw = await this.redis.hget(this.keys.intakePauses(), field(p.scope, p.name));
    return { pause: raw ? (JSON.parse(raw) as IntakePause) : p, created };
  }

  /** Lifts the pause and returns the operations it held, still pending, for their jobs to be woken. */
  async lift(scope: PauseScope, name: string): Promise<{ existed: boolean; held: Array<{ id: string; provider: ProviderName; type: string }> }> {
    const reply = (await this.liftScript(this.keys.prefix, field(scope, name), new Date().toISOString())) as [number, ...string[]];
    const held: Array<{ id: string; provider: ProviderName; type: string }> = [];
    for (let i = 1; i + 2 < reply.length; i += 3) held.push({ id: reply[i] as string, provider: reply[i + 1] as ProviderName, type: reply[i + 2] as string });
    await this.announce();
    return { existed: reply[0] === 1, held };
  }

  /** The operations the pause holds that are still pending (one cancelled meanwhile stays in the set until the pause is lifted). */
  async heldCount(scope: PauseScope, name: string): Promise<number> {
    const ids = await this.redis.smembers(this.keys.intakeHeld(field(scope, name)));
    if (ids.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.keys.operation(id), 'status');
    return ((await pipeline.exec()) ?? []).filter(([, status]) => status === 'pending').length;
  }

  async isHeld(id: string, pause: Pick<IntakePause, 'scope' | 'name'>): Promise<boolean> {
    return (await this.redis.sismember(this.keys.intakeHeld(field(pause.scope, pause.name)), id)) === 1;
  }

  private async announce(): Promise<void> {
    this.copy = null;
    await this.redis.publish(this.keys.intakeChannel(), 'changed');
  }

  /** Drops this process's copy (a change was announced). */
  invalidate(): void {
    this.copy = null;
  }

  /** Listens for announced changes on a subscriber connection. */
  async listen(subscriber: Redis): Promise<void> {
    const channel = this.keys.intakeChannel();
    await subscriber.subscribe(channel);
    subscriber.on('message', (from: string) => {
      if (from === channel) this.invalidate();
    });
  }

  /** The pauses as this process last read them (at most 2 s ago unless a change was announced since). */
  async current(): Promise<Map<string, IntakePause>> {
    const now = Date.now();
    if (this.copy && now - this.copy.at < CACHE_TTL_MS) return this.copy.pauses;
    const pauses = new Map((await this.all()).map((p) => [field(p.scope, p.name), p]));
    this.copy = { at: now, pauses };
    return pauses;
  }

  /** The pause that holds back new work of this workspace or provider, if any (the workspace's first). */
  async pauseFor(workspace: string, provider: string): Promise<IntakePause | null> {
    const pauses = await this.current();
    if (pauses.size === 0) return null;
    return pauses.get(field('workspace', workspace)) ?? pauses.get(field('provider', provider)) ?? null;
  }

  /** See HOLD. */
  async hold(id: string, pause: IntakePause): Promise<'held' | 'lifted' | 'not_pending'> {
    const now = new Date().toISOString();
    const message = pausedMessage(pause);
    const progress = JSON.stringify({ step: 'paused', message, at: now });
    const outcome = (await this.holdScript(this.keys.prefix, id, field(pause.scope, pause.name), progress, now, message)) as 'held' | 'lifted' | 'not_pending';
    if (outcome === 'lifted') this.invalidate();
    return outcome;
  }
}

// ── The API's side: list, pause, resume, with who may do which ──────────────────────────

function intakeOf(ctx: CoreContext): IntakePauses {
  return new IntakePauses(ctx.redis, ctx.keys);
}

/**
 * A workspace's intake: a caller holding `intake_manage` there (its operators and admins). A
 * provider's stops every workspace's work on it: global admins only.
 */
async function authorize(ctx: CoreContext, access: Access, scope: PauseScope, name: string): Promise<void> {
  if (scope === 'provider') {
    if (!(PROVIDER_NAMES as readonly string[]).includes(name)) throw new ValidationError([{ field: 'name', problem: `must be one of: ${PROVIDER_NAMES.join(', ')}` }]);
    if (!access.identity.admin) throw new EngineError(ErrorCodes.FORBIDDEN, `pausing or resuming a provider's intake affects every workspace: it needs a global admin`);
    return;
  }
  access.requireIn('intake_manage', name);
  await ctx.workspaces.require(name);
}

/** The pauses the caller's work may meet: every provider's, and those of the workspaces it sees. */
export async function listPauses(ctx: CoreContext, access: Access): Promise<IntakePauseView[]> {
  const intake = intakeOf(ctx);
  const visible = (await intake.all()).filter((p) => p.scope === 'provider' || access.sees(p.name));
  return Promise.all(visible.map(async (p) => ({ ...p, held: await intake.heldCount(p.scope, p.name) })));
}

export async function pauseIntake(ctx: CoreContext, access: Access, body: { scope: PauseScope; name: string; reason?: string }, by: string): Promise<{ pause: IntakePauseView; created: boolean }> {
  await authorize(ctx, access, body.scope, body.name);
  const intake = intakeOf(ctx);
  const { pause, created } = await intake.pause({ scope: body.scope, name: body.name, reason: body.reason ?? '', paused_by: by, paused_at: new Date().toISOString() });
  if (created) ctx.logger.warn('intake paused', { scope: pause.scope, name: pause.name, reason: pause.reason, by });
  return { pause: { ...pause, held: await intake.heldCount(pause.scope, pause.name) }, created };
}

export interface ResumeReport {
  scope: PauseScope;
  name: string;
  /** False when there was no such pause (resuming is idempotent). */
  was_paused: boolean;
  /** The pending operations it held, now woken. */
  released: string[];
}

export async function resumeIntake(ctx: CoreContext, access: Access, scope: PauseScope, name: string, by: string): Promise<ResumeReport> {
  await authorize(ctx, access, scope, name);
  const { existed, held } = await intakeOf(ctx).lift(scope, name);
  // Their jobs sleep in the delayed set: run them now. One that another pause still covers is held again.
  for (const op of held) await wakeJob(ctx.queues.queueFor({ type: op.type, provider: op.provider }), op.id);
  if (existed) ctx.logger.warn('intake resumed', { scope, name, by, released: held.length });
  return { scope, name, was_paused: existed, released: held.map((h) => h.id) };
}
