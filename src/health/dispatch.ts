// Picks and runs the checker for one real of one virtual: builds the CheckTarget (the
// check port falls back to the real's port, then to the service's well-known port) and
// the CheckOptions (per-real request/receive override the virtual's; connect, ping and
// external use checktimeout, negotiate uses negotiatetimeout). Services not implemented
// here (ldap, ldaps, oracle, radius, sip) fall back to a connect check.

import type { CheckResult, CheckOptions, CheckTarget } from './check';
import { checkConnect } from './connect';
import { checkDns } from './dns';
import { checkExternal } from './external';
import { checkHttp } from './http';
import { checkPing } from './ping';
import {
  checkFtp, checkImap, checkMysql, checkNntp, checkNone, checkPgsql, checkPop, checkSimpleTcp, checkSmtp,
} from './simple-protocols';
import type { CheckService, RealSpec, VirtualSpec } from './types';

export type CheckKind = 'connect' | 'negotiate' | 'ping' | 'external' | 'external-perl';

const WELL_KNOWN: Partial<Record<CheckService, number>> = {
  ftp: 21, smtp: 25, dns: 53, http: 80, pop: 110, nntp: 119, imap: 143, ldap: 389, https: 443, submission: 587,
  ldaps: 636, imaps: 993, pops: 995, oracle: 1521, radius: 1812, http_proxy: 3128, mysql: 3306, sip: 5060, pgsql: 5432,
};

export function checkTarget(v: VirtualSpec, r: RealSpec): CheckTarget {
  const port = v.checkport || r.port || WELL_KNOWN[v.checkService] || v.service.port;
  return {
    host: r.addr.toString(),
    port,
    realPort: r.port,
    vip: v.service.fwmark ? '' : v.service.addr.toString(),
    vport: v.service.port,
    fwmark: v.service.fwmark,
    protocol: v.protocol,
  };
}

export function checkOptions(v: VirtualSpec, r: RealSpec, kind: CheckKind): CheckOptions {
  const secs = kind === 'negotiate' ? v.negotiatetimeout : v.checktimeout;
  return {
    timeoutMs: Math.max(0.001, secs) * 1000,
    request: r.request ?? v.request,
    receive: r.receive ?? v.receive,
    httpmethod: v.httpmethod,
    virtualhost: v.virtualhost,
    login: v.login,
    passwd: v.passwd,
    database: v.database,
    checkcommand: v.checkcommand,
    checkcount: v.checkcount,
  };
}

export function runKind(kind: CheckKind, v: VirtualSpec, r: RealSpec, signal: AbortSignal): Promise<CheckResult> {
  const t = checkTarget(v, r);
  const o = checkOptions(v, r, kind);
  switch (kind) {
    case 'connect':
      return checkConnect(t, o, signal);
    case 'ping':
      return checkPing(t, o, signal);
    case 'external':
      return checkExternal(t, o, signal);
    case 'external-perl':
      return checkExternal(t, o, signal, true);
    case 'negotiate':
      return negotiate(v.checkService, t, o, signal);
  }
}

export function negotiate(service: CheckService, t: CheckTarget, o: CheckOptions, signal: AbortSignal): Promise<CheckResult> {
  switch (service) {
    case 'http':
    case 'https':
    case 'http_proxy':
      return checkHttp(t, o, signal, service);
    case 'smtp':
    case 'submission':
      return checkSmtp(t, o, signal);
    case 'pop':
      return checkPop(t, o, signal);
    case 'pops':
      return checkPop(t, o, signal, true);
    case 'imap':
      return checkImap(t, o, signal);
    case 'imaps':
      return checkImap(t, o, signal, true);
    case 'ftp':
      return checkFtp(t, o, signal);
    case 'nntp':
      return checkNntp(t, o, signal);
    case 'dns':
      return checkDns(t, o, signal);
    case 'mysql':
      return checkMysql(t, o, signal);
    case 'pgsql':
      return checkPgsql(t, o, signal);
    case 'simpletcp':
      return checkSimpleTcp(t, o, signal);
    case 'none':
      return checkNone();
    case 'ldap':
    case 'ldaps':
    case 'oracle':
    case 'radius':
    case 'sip':
      return checkConnect(t, o, signal);
  }
}
