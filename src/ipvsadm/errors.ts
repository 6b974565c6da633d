// Errors of the ipvsadm front end. `message` is exactly what ipvsadm writes to stderr,
// without the final newline (the printer adds one); `exitCode` is its exit status.
//
// ipvsadm has three ways of failing while it parses a command line (§1.7):
//  - fail(2, ...): prints and exits at once, even in the middle of -R          (fatal)
//  - tryhelp_exit: prints the "Try `ipvsadm -h'..." line, exits 255 at once      (fatal)
//  - a popt error after the first option: prints "<word>: <popt text>" and returns -1
//    from that command line; the process exits 255, but -R goes on with its next line
//    (not fatal; the exit status of -R is that of its last line).

export class IpvsadmError extends Error {
  /** Process exit status ipvsadm uses for this error. */
  readonly exitCode: number;
  /** True when ipvsadm exits immediately (also inside -R); false for popt errors. */
  readonly fatal: boolean;

  constructor(message: string, exitCode: number, fatal = true) {
    super(message);
    this.name = 'IpvsadmError';
    this.exitCode = exitCode;
    this.fatal = fatal;
  }
}

/** fail(2, msg): every option/validation error. */
export function failure(message: string): IpvsadmError {
  return new IpvsadmError(message, 2, true);
}

/** The tryhelp line (first option not a command, -R inside -R, ...). */
export function tryHelp(program = 'ipvsadm'): IpvsadmError {
  return new IpvsadmError(`Try \`${program} -h' or '${program} --help' for more information.`, 255, true);
}

/** A popt error met after the command option: `<argv word>: <popt text>`. */
export function poptFailure(word: string, text: string): IpvsadmError {
  return new IpvsadmError(`${word}: ${text}`, 255, false);
}

/** ipvs_init() failed (the service cannot be reached): exit 2. */
export function cannotInitialize(reason: string): IpvsadmError {
  return new IpvsadmError(
    `Can't initialize ipvs: ${reason}\nAre you sure that IP Virtual Server is built in the kernel or as module?`,
    2,
  );
}
