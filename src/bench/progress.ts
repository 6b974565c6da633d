// The bench's progress line on stderr: one line rewritten in place on a terminal, plain
// lines otherwise (CI logs, pipes). `done()` ends an in-place line before other output.

export class Progress {
  private readonly tty: boolean;
  private active = false;
  private readonly started = Date.now();

  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly quiet = false) {
    this.tty = Boolean(out.isTTY);
  }

  update(msg: string): void {
    if (this.quiet) return;
    const secs = Math.round((Date.now() - this.started) / 1000);
    const line = `[${String(Math.floor(secs / 60)).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}] ${msg}`;
    if (this.tty) {
      const width = (this.out.columns ?? 100) - 1;
      this.out.write(`\r\x1b[K${line.slice(0, width)}`);
      this.active = true;
    } else {
      this.out.write(`${line}\n`);
    }
  }

  /** A line that stays (a note or a warning). */
  note(msg: string): void {
    this.done();
    this.out.write(`${msg}\n`);
  }

  done(): void {
    if (this.active) this.out.write('\r\x1b[K');
    this.active = false;
  }
}
