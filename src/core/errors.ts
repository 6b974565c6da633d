// Errors of the model, with the errno the kernel would return and the text ipvsadm
// prints for it (§1.7). The ipvsadm front end prints `message` unchanged.

export type IpvsErrno = 'EEXIST' | 'ENOENT' | 'ESRCH' | 'EINVAL' | 'ERANGE' | 'ENOMEM' | 'EPERM' | 'EAFNOSUPPORT' | 'EOPNOTSUPP' | 'ENODEV';

export class IpvsError extends Error {
  readonly code: IpvsErrno;
  constructor(code: IpvsErrno, message: string) {
    super(message);
    this.code = code;
    this.name = 'IpvsError';
  }
}

export const ERR = {
  serviceExists: () => new IpvsError('EEXIST', 'Service already exists'),
  schedulerNotFound: () => new IpvsError('ENOENT', 'Scheduler or persistence engine not found'),
  noSuchService: () => new IpvsError('ESRCH', 'No such service'),
  serviceNotDefined: () => new IpvsError('ESRCH', 'Service not defined'),
  destExists: () => new IpvsError('EEXIST', 'Destination already exists'),
  noSuchDest: () => new IpvsError('ENOENT', 'No such destination'),
  invalid: () => new IpvsError('EINVAL', 'Invalid operation.  Possibly wrong module version, address not unicast, ...'),
  range: () => new IpvsError('ERANGE', 'Numerical result out of range'),
  noMemory: () => new IpvsError('ENOMEM', 'Memory allocation problem'),
  afNotSupported: () => new IpvsError('EAFNOSUPPORT', 'Operation not supported with specified address family'),
  daemonRunning: () => new IpvsError('EEXIST', 'Daemon has already run'),
  noDaemon: () => new IpvsError('ESRCH', 'No daemon is running'),
  /** --mcast-interface names no interface: strerror(ENODEV). */
  noDevice: () => new IpvsError('ENODEV', 'No such device'),
  /** A fixed-size table is full (the worker threads' shared counters): ENOMEM, with the limit named. */
  tableFull: (what: string, max: number) => new IpvsError('ENOMEM', `Memory allocation problem: at most ${max} ${what} with worker threads`),
};
