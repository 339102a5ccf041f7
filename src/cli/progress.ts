import { duration, paint, status as statusText } from './output.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * The live line of an operation being waited for: status, progress message and time elapsed.
 * On a terminal it is one line redrawn in place (\r) every change and every second; elsewhere
 * (a pipe, a file, CI) each change is a plain line of its own.
 */
export class ProgressLine {
  private readonly tty: boolean;
  private readonly started = Date.now();
  private status = '';
  private message = '';
  private label = '';
  private lastPrinted = '';
  private frame = 0;
  private timer: NodeJS.Timeout | null = null;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.tty = Boolean(stream.isTTY);
    if (this.tty) this.timer = setInterval(() => this.draw(), 1000);
    this.timer?.unref();
  }

  /** A prefix for the line (e.g. the operation's type and short id). */
  setLabel(label: string): void {
    this.label = label;
  }

  update(status: string | undefined, message: string | undefined): void {
    if (status) this.status = status;
    if (message !== undefined) this.message = message;
    if (this.tty) this.draw();
    else {
      const key = `${this.status}\u0000${this.message}`;
      if (key === this.lastPrinted) return;
      this.lastPrinted = key;
      this.stream.write(`${duration(Date.now() - this.started).padStart(6)}  ${[this.label, this.status, this.message].filter(Boolean).join('  ')}\n`);
    }
  }

  /** A line of its own above the live line (a step finishing, a warning). */
  note(text: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(text + '\n');
    this.drawn = false;
    if (this.tty) this.draw();
  }

  private draw(): void {
    if (!this.status) return;
    this.frame = (this.frame + 1) % SPINNER.length;
    const elapsed = paint(duration(Date.now() - this.started), 'gray', this.stream);
    const parts = [paint(SPINNER[this.frame]!, 'cyan', this.stream), this.label, statusText(this.status, this.stream), this.message].filter(Boolean).join('  ');
    const width = this.stream.columns || 100;
    const plain = parts.replace(/\x1b\[[0-9;]*m/g, '');
    const text = plain.length + 12 > width ? [...plain].slice(0, Math.max(10, width - 14)).join('') + '…' : parts;
    this.stream.write(`\r\x1b[2K${text}  ${elapsed}`);
    this.drawn = true;
  }

  /** Stops redrawing and leaves the cursor on a fresh line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty && this.drawn) {
      this.draw();
      this.stream.write('\n');
    }
    this.drawn = false;
  }

  get elapsedMs(): number {
    return Date.now() - this.started;
  }
}
