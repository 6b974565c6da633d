// A command-line mistake: printed as one line on stderr, with the exit code, and never
// as a stack trace.

export class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
    this.name = 'UsageError';
  }
}
