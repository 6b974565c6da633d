// A small line-oriented client over TCP or TLS for the negotiate checks of text
// protocols (SMTP, POP, IMAP, FTP, NNTP, simpletcp). Every wait is bounded by the
// caller's AbortSignal; reads resolve to null on EOF.

import { Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export class Conversation {
  private buf = '';
  private ended = false;
  private failure: Error | null = null;
  private waiter: (() => void) | null = null;

  private constructor(readonly sock: Socket, private readonly signal: AbortSignal) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    sock.on('end', () => {
      this.ended = true;
      this.wake();
    });
    sock.on('close', () => {
      this.ended = true;
      this.wake();
    });
    sock.on('error', (e) => {
      this.failure = e;
      this.wake();
    });
    signal.addEventListener('abort', () => sock.destroy(), { once: true });
  }

  static open(host: string, port: number, tls: boolean, signal: AbortSignal): Promise<Conversation> {
    return new Promise((resolve, reject) => {
      const sock: Socket = tls
        ? tlsConnect({ host, port, rejectUnauthorized: false, ...(/^[\d.:]+$/.test(host) ? {} : { servername: host }) })
        : netConnect({ host, port });
      const onAbort = (): void => {
        sock.destroy();
        reject(new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      sock.once(tls ? 'secureConnect' : 'connect', () => {
        signal.removeEventListener('abort', onAbort);
        sock.removeAllListeners('error');
        resolve(new Conversation(sock, signal));
      });
      sock.once('error', (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      });
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.signal.aborted) {
        reject(new Error('aborted'));
        return;
      }
      this.waiter = resolve;
    });
  }

  /** Next line without its CR/LF; null on EOF. */
  async readLine(): Promise<string | null> {
    for (;;) {
      const i = this.buf.indexOf('\n');
      if (i >= 0) {
        const line = this.buf.slice(0, i).replace(/\r$/, '');
        this.buf = this.buf.slice(i + 1);
        return line;
      }
      if (this.failure) throw this.failure;
      if (this.ended) {
        if (!this.buf) return null;
        const rest = this.buf;
        this.buf = '';
        return rest;
      }
      await this.wait();
    }
  }

  /** At least one byte (up to `max`) of whatever arrives first; '' on EOF. */
  async readSome(max: number): Promise<string> {
    for (;;) {
      if (this.buf) {
        const out = this.buf.slice(0, max);
        this.buf = this.buf.slice(out.length);
        return out;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return '';
      await this.wait();
    }
  }

  /** A reply of the SMTP/FTP kind: `NNN-...` lines continue, `NNN ...` ends it. */
  async readReply(): Promise<{ code: number; text: string }> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine();
      if (line === null) throw new Error(lines.length ? `connection closed in reply: ${lines.join(' | ')}` : 'connection closed');
      lines.push(line);
      if (!/^\d{3}-/.test(line)) {
        const code = /^\d{3}/.test(line) ? Number(line.slice(0, 3)) : 0;
        return { code, text: lines.join(' | ') };
      }
    }
  }

  write(text: string): void {
    if (!this.sock.destroyed) this.sock.write(text, 'latin1');
  }

  /** Half-close: no more data from us. */
  endWrite(): void {
    this.sock.end();
  }

  close(): void {
    this.sock.destroy();
  }
}
