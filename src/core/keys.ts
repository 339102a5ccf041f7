/**
 * Every Redis key the engine writes, in one place. All start with the configured prefix so
 * tests (and several systems) can share one Redis without seeing each other.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  operation(id: string): string {
    return `${this.prefix}:op:${id}`;
  }
  /**
   * Sorted sets of operation ids scored by creation sequence. The open statuses' (`pending`,
   * `running`) are kept; the others (`all`, per type, workspace, provider, finished status) are
   * the layout before operation rows, read only by their migration (operations/rows-migration.ts).
   */
  operationIndex(field?: 'status' | 'type' | 'workspace' | 'provider', value?: string): string {
    return field ? `${this.prefix}:ops:${field}:${value}` : `${this.prefix}:ops:all`;
  }
  /** One bucket of operation rows: field = creation sequence, value = the row (see operations/rows.ts). */
  operationRows(bucket: number | string): string {
    return `${this.prefix}:ops:rows:${bucket}`;
  }
  /** The buckets of rows that hold a given type, workspace, provider or finished status, or (no field) every bucket: bucket numbers scored by themselves. */
  operationBuckets(field?: 'status' | 'type' | 'workspace' | 'provider', value?: string): string {
    return field ? `${this.prefix}:ops:in:${field}:${value}` : `${this.prefix}:ops:in:all`;
  }
  operationSeq(): string {
    return `${this.prefix}:ops:seq`;
  }
  /**
   * Operations per type × status (`t|<type>|<status>`) and per workspace × status
   * (`w|<workspace>|<status>`), kept by the scripts that create, move and remove operations so
   * a count is one read; `base`/`backfilled` say how far older operations are counted (see
   * operations/counts.ts).
   */
  operationCounts(): string {
    return `${this.prefix}:ops:counts`;
  }
  /** The layout before operation rows: finished top-level operations scored by when they finished; read only by the migration. */
  operationsFinished(): string {
    return `${this.prefix}:ops:finished`;
  }
  /** The layout before operation rows: how far older finished operations were entered into that index; removed by the migration. */
  operationsFinishedBackfill(): string {
    return `${this.prefix}:ops:finished:backfill`;
  }
  /** How far the migration to operation rows has got (see operations/rows-migration.ts). */
  operationRowsMigration(): string {
    return `${this.prefix}:ops:rows-migration`;
  }
  events(): string {
    return `${this.prefix}:events`;
  }
  /** The newest log records of every process (JSON, newest first, capped at UDC_LOG_ENTRIES), read by `GET /logs`. */
  udcLogs(): string {
    return `${this.prefix}:udc:logs`;
  }
  /** The stream ids of one operation's events, oldest first. */
  operationEvents(id: string): string {
    return `${this.prefix}:op:${id}:events`;
  }
  cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }
  /** Where a configuration reload (POST /reload-config) is announced, so every worker re-reads its settings. */
  configReloadChannel(): string {
    return `${this.prefix}:control:reload`;
  }
  /** The open operations that change one server, scored by acceptance sequence: they run one at a time, in order. */
  lane(serverId: string): string {
    return `${this.prefix}:lane:${serverId}`;
  }
  /** Where the next operation of a lane is announced when the one before it finishes. */
  lanesChannel(): string {
    return `${this.prefix}:lanes`;
  }
  /** Intake pauses: one field per pause (`<scope>:<name>`), its JSON the value (see intake/pauses.ts). */
  intakePauses(): string {
    return `${this.prefix}:intake:pauses`;
  }
  /** The pending operations one pause holds back, promoted when it is lifted. */
  intakeHeld(pause: string): string {
    return `${this.prefix}:intake:held:${pause}`;
  }
  /** Where a change of the pauses is announced, so every process drops its cached copy. */
  intakeChannel(): string {
    return `${this.prefix}:intake`;
  }
  server(id: string): string {
    return `${this.prefix}:srv:${id}`;
  }
  serverIndex(): string {
    return `${this.prefix}:srvs`;
  }
  serverSeq(): string {
    return `${this.prefix}:srvs:seq`;
  }
  /**
   * What touched one server, newest scored highest: `op:<operation id>` for each operation on
   * it and `ev:<stream id>` for each drift event about it (see servers/history.ts). Bounded in
   * length; entries leave with their operation (retention) or age out with the event stream.
   */
  serverHistory(serverId: string): string {
    return `${this.prefix}:srv:${serverId}:history`;
  }
  /** One user's record (see auth/users.ts). */
  user(username: string): string {
    return `${this.prefix}:user:${username}`;
  }
  /** Every user's name. */
  users(): string {
    return `${this.prefix}:users`;
  }
  /** One workspace's record (see workspaces/store.ts). */
  workspace(name: string): string {
    return `${this.prefix}:ws:${name}`;
  }
  /** Every workspace's name. */
  workspaces(): string {
    return `${this.prefix}:wss`;
  }
  /** One refresh token, by the SHA-256 of its value (see auth/tokens.ts). */
  refreshToken(digest: string): string {
    return `${this.prefix}:auth:refresh:${digest}`;
  }
  /** One login's chain of refresh tokens: revoking it ends every token of that login. */
  refreshFamily(id: string): string {
    return `${this.prefix}:auth:family:${id}`;
  }
  /** One API key's record, by its id (see auth/api-keys.ts). */
  apiKey(id: string): string {
    return `${this.prefix}:apikey:${id}`;
  }
  /** The ids of one user's API keys. */
  apiKeysOf(username: string): string {
    return `${this.prefix}:apikeys:${username}`;
  }
  /** The audit log: one stream of every mutating request and authentication failure. */
  audit(): string {
    return `${this.prefix}:audit`;
  }
  jwtSecret(): string {
    return `${this.prefix}:auth:jwt-secret`;
  }
  adminUser(): string {
    return `${this.prefix}:auth:admin`;
  }
  /**
   * One Idempotency-Key of one user: `digest` hashes the method, path and key, so any
   * printable key (colons included) makes a fixed-length, unambiguous Redis key.
   */
  idempotency(username: string, digest: string): string {
    return `${this.prefix}:idem:${username}:${digest}`;
  }
  lock(name: string): string {
    return `${this.prefix}:lock:${name}`;
  }
  /** BullMQ's own prefix; its keys then read `<prefix>:bull:<queue>:…`. */
  bullPrefix(): string {
    return `${this.prefix}:bull`;
  }
  /**
   * What one operation's processor has done so far (its step results, the outcomes of its
   * waits, its deadline), so a run that resumes after a wait or a crash replays instead of
   * repeating (see workers/journal.ts).
   */
  journal(id: string): string {
    return `${this.prefix}:op:${id}:journal`;
  }
  /** Operations waiting on one provider account, scored by when the watcher should next look (epoch ms). */
  waits(account: string): string {
    return `${this.prefix}:waits:${account}`;
  }
  /** What each of those operations waits for (JSON by operation id). */
  waitSpecs(account: string): string {
    return `${this.prefix}:waits:${account}:spec`;
  }
  /** The output lines of one operation (see operations/log.ts), oldest first. */
  operationLogs(id: string): string {
    return `${this.prefix}:op:${id}:logs`;
  }
  taskserv(id: string): string {
    return `${this.prefix}:tsk:${id}`;
  }
  taskservIndex(): string {
    return `${this.prefix}:tsks`;
  }
  taskservSeq(): string {
    return `${this.prefix}:tsks:seq`;
  }
  /** The engine's SSH private key (OpenSSH format), generated once. */
  sshEngineKey(): string {
    return `${this.prefix}:ssh:engine-key`;
  }
  /** The host key fingerprint a server presented the first time the engine connected. */
  sshHostKeyPin(serverKey: string): string {
    return `${this.prefix}:ssh:host-key:${serverKey}`;
  }
  /** The droplet's RSA signing key (PKCS#8 PEM, sealed), made once for every process. */
  dropletSigningKey(): string {
    return `${this.prefix}:udc:signing-key`;
  }
  /** The id of the operation that completed last (written by the transition script, read by `GET /proof`). */
  lastCompleted(): string {
    return `${this.prefix}:udc:last-completed`;
  }
  /** The latest `event` and `response` messages received, newest first, capped. */
  meshInbox(): string {
    return `${this.prefix}:udc:inbox`;
  }
  /** One outbox delivery (a mesh message or a webhook event) and how its attempts went (see outbox/store.ts). */
  outboxDelivery(id: string): string {
    return `${this.prefix}:outbox:delivery:${id}`;
  }
  /** Delivery ids, newest first, capped: every one, one kind's (`mesh`, `webhook`), or one webhook subscription's. */
  outboxIndex(scope: 'all' | 'mesh' | 'webhook' | `sub:${string}`): string {
    return `${this.prefix}:outbox:index:${scope}`;
  }
  /** One webhook subscription (its secret sealed), see webhooks/store.ts. */
  webhook(id: string): string {
    return `${this.prefix}:webhook:${id}`;
  }
  /** The ids of one workspace's webhook subscriptions. */
  webhooksOf(workspace: string): string {
    return `${this.prefix}:webhooks:ws:${workspace}`;
  }
  /** Bumped on every change of any subscription, so the dispatchers drop their cached copies. */
  webhooksVersion(): string {
    return `${this.prefix}:webhooks:version`;
  }
  /** One worker process's own metrics (prom-client JSON), lapsing unless rewritten (see metrics/push.ts). */
  metricsOfProcess(id: string): string {
    return `${this.prefix}:metrics:proc:${id}`;
  }
  /** The ids of the processes that wrote their metrics, so a scrape reads them without scanning. */
  metricsProcesses(): string {
    return `${this.prefix}:metrics:procs`;
  }
}
