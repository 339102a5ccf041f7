import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts a byte stream into lines, holding back a partial last line (and a character split
 * across chunks) until more arrives or `flush`.
 */
export class LineSplitter {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    const lines = (this.partial + this.decoder.write(chunk)).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.emit(line.replace(/\r$/, ''));
  }

  flush(): void {
    const rest = this.partial + this.decoder.end();
    if (rest !== '') this.emit(rest.replace(/\r$/, ''));
    this.partial = '';
  }
}
