import type { Logger } from '../../core/logger.js';
import type { LogLine, OperationLog } from '../../core/operations/log.js';

const FLUSH_MS = 200;
const FLUSH_LINES = 200;

/**
 * Collects output lines and writes them to the operation's log in batches, so a chatty
 * script costs a few Redis round trips a second rather than one per line. Lines keep their
 * order; a failed write is logged and never fails the operation.
 */
export class LogBatcher {
  private pending: Array<LogLine | string> = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: OperationLog,
    private readonly logger: Logger,
  ) {}

  add(line: LogLine | string): void {
    this.pending.push(line);
    if (this.pending.length >= FLUSH_LINES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Writes what is pending; resolves once everything added so far is in Redis. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.writing = this.writing.then(() =>
        this.log.append(batch).then(
          () => undefined,
          (err) => void this.logger.warn('could not write operation log lines', { operation_id: this.log.operationId, error: (err as Error).message }),
        ),
      );
    }
    return this.writing;
  }
}
