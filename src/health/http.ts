// negotiate for service http / https / http_proxy: a GET or HEAD (httpmethod) to
// `scheme://RIP:checkport/request`, or to `request` itself when it is an absolute URL.
// Host header = virtualhost when set. Certificates are not verified (as ldirectord's
// LWP setup). Up when the status is 2xx and, if `receive` is set, the body matches it
// (compiled as a JS RegExp — see compileReceive for the Perl differences). http_proxy
// sends the absolute URL through the real server as a proxy.

import * as http from 'node:http';
import * as https from 'node:https';
import { type CheckOptions, type CheckResult, type CheckTarget, UP, compileReceive, down, errText, hostPort, runCheck } from './check';

const MAX_BODY = 1 << 20;

export function checkHttp(
  target: CheckTarget,
  opts: CheckOptions,
  signal: AbortSignal,
  scheme: 'http' | 'https' | 'http_proxy',
): Promise<CheckResult> {
  return runCheck(signal, opts.timeoutMs, (sig) => httpOnce(target, opts, sig, scheme));
}

function httpOnce(target: CheckTarget, opts: CheckOptions, signal: AbortSignal, scheme: 'http' | 'https' | 'http_proxy'): Promise<CheckResult> {
  const re = opts.receive ? compileReceive(opts.receive) : null;
  if (opts.receive && !re) return Promise.resolve(down(`receive is not a valid regular expression: ${opts.receive}`));
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(opts.request);
  let url: URL;
  let reqOpts: https.RequestOptions;
  try {
    if (scheme === 'http_proxy') {
      url = new URL(absolute ? opts.request : `http://${hostPort(target.host, target.port)}${slash(opts.request)}`);
      reqOpts = { host: target.host, port: target.port, path: url.href, headers: { Host: opts.virtualhost || url.host } };
    } else {
      url = new URL(absolute ? opts.request : `${scheme}://${hostPort(target.host, target.port)}${slash(opts.request)}`);
      reqOpts = { headers: opts.virtualhost ? { Host: opts.virtualhost } : {} };
    }
  } catch (e) {
    return Promise.resolve(down(`bad request URL: ${errText(e)}`));
  }
  const secure = scheme !== 'http_proxy' && url.protocol === 'https:';
  const mod = secure ? https : http;
  const shown = scheme === 'http_proxy' ? `${url.href} via ${hostPort(target.host, target.port)}` : url.href;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const options: https.RequestOptions = {
      ...reqOpts,
      method: opts.httpmethod,
      signal,
      agent: false,
      rejectUnauthorized: false,
      ...(secure && opts.virtualhost ? { servername: opts.virtualhost } : {}),
    };
    const req = scheme === 'http_proxy' ? http.request(options) : mod.request(url, options);
    req.on('error', (e) => done(down(`${shown}: ${errText(e)}`)));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        res.destroy();
        done(down(`${shown}: HTTP status ${status}`));
        return;
      }
      if (!re) {
        res.destroy();
        done(UP);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY) {
          chunks.push(c);
          size += c.length;
        }
      });
      res.on('error', (e) => done(down(`${shown}: ${errText(e)}`)));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        done(re.test(body) ? UP : down(`${shown}: body does not match /${opts.receive}/`));
      });
    });
    req.end();
  });
}

function slash(p: string): string {
  return p.startsWith('/') ? p : `/${p}`;
}
