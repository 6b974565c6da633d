// The main thread's handle on the data-plane workers (src/dataplane/worker.ts).
//
// start() launches them ONE AFTER ANOTHER, each only when the previous one reported that
// its socket joined the fanout group: the kernel numbers a group's sockets in join order,
// and workerForFlow() (src/io/fanout.ts) relies on worker i being socket i.
// send() posts a model to every worker, sendStandby() the VIPs they stand by for, post() and
// postTo() any other message (connection sync); connections() gathers every shard's
// connection list for `-L -c` (bounded wait); onSync receives the workers' sync reports. A worker that dies or reports a fatal error while the
// daemon runs is logged and `onFatal` is called: the daemon then exits non-zero rather
// than forward at part capacity. stop() asks each worker to close its socket, and
// terminates any that has not gone within two seconds.

import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ConnSnapshot } from '../ipvsadm/snapshot';
import type { FromWorker, ToWorker, WorkerInit } from '../dataplane/worker-messages';
import type { WorkerModel } from '../dataplane/worker-model';
import type { StandbyState } from '../dataplane/pipeline';

export interface WorkerPoolOptions {
  /** WorkerInit without the per-worker fields. */
  init: Omit<WorkerInit, 'index' | 'cpu'>;
  /** CPU of each worker (-1: unpinned); its length is the number of workers. */
  cpus: number[];
  log: (msg: string) => void;
  onFatal: (msg: string) => void;
  /** The worker program (default dist/src/dataplane/worker.js; tests give a stand-in). */
  script?: string;
}

const START_TIMEOUT_MS = 10_000;
const CONNS_TIMEOUT_MS = 3_000;

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private stopping = false;
  private nextReq = 1;
  private readonly pending = new Map<number, { want: number; got: ConnSnapshot[][]; done: (c: ConnSnapshot[]) => void }>();
  /** Connection-sync reports of worker i (syncOut, syncApplied): the DataPlaneWorkers route them. */
  onSync: ((i: number, m: Extract<FromWorker, { type: 'syncOut' | 'syncApplied' }>) => void) | null = null;

  constructor(private readonly opts: WorkerPoolOptions) {}

  get size(): number {
    return this.opts.cpus.length;
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.opts.cpus.length; i++) {
      const data: WorkerInit = { ...this.opts.init, index: i, cpu: this.opts.cpus[i] };
      const w = new Worker(this.opts.script ?? join(__dirname, '../dataplane/worker.js'), { workerData: data });
      this.workers.push(w);
      const cpus = await new Promise<number[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker ${i} did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
        const onMsg = (m: FromWorker) => {
          if (m.type === 'ready') finish(() => resolve(m.cpus));
          else if (m.type === 'fatal') finish(() => reject(new Error(`worker ${i}: ${m.msg}`)));
        };
        const onError = (e: Error) => finish(() => reject(new Error(`worker ${i}: ${e.message}`)));
        const onExit = (code: number) => finish(() => reject(new Error(`worker ${i} exited with code ${code} while starting`)));
        const finish = (then: () => void) => {
          clearTimeout(timer);
          w.off('message', onMsg);
          w.off('error', onError);
          w.off('exit', onExit);
          then();
        };
        w.on('message', onMsg);
        w.once('error', onError);
        w.once('exit', onExit);
      }).catch((e: Error) => {
        this.stop();
        throw e;
      });
      this.opts.log(`worker ${i} (thread ${w.threadId}) joined fanout group ${this.opts.init.fanoutGroup}, on CPU ${cpus.join(',')}`);
      this.watch(w, i);
    }
  }

  send(model: WorkerModel): void {
    this.post({ type: 'model', model });
  }

  /** The VIPs every worker stands by for (the main thread's pipeline decides). */
  sendStandby(state: StandbyState): void {
    this.post({ type: 'standby', state });
  }

  /** Posts a message to every worker. */
  post(m: ToWorker): void {
    for (const w of this.workers) w.postMessage(m);
  }

  /** Posts a message to worker i. */
  postTo(i: number, m: ToWorker): void {
    this.workers[i]?.postMessage(m);
  }

  /** Every shard's connections (`-L -c`); a shard that does not answer in time is left out and logged. */
  connections(): Promise<ConnSnapshot[]> {
    const id = this.nextReq++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.opts.log(`-L -c: only ${entry.got.length} of ${entry.want} workers answered within ${CONNS_TIMEOUT_MS / 1000} s`);
        resolve(entry.got.flat());
      }, CONNS_TIMEOUT_MS);
      const entry = {
        want: this.workers.length,
        got: [] as ConnSnapshot[][],
        done: (c: ConnSnapshot[]) => {
          clearTimeout(timer);
          resolve(c);
        },
      };
      this.pending.set(id, entry);
      for (const w of this.workers) w.postMessage({ type: 'conns', id } satisfies ToWorker);
    });
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const w of this.workers) {
      w.postMessage({ type: 'stop' } satisfies ToWorker);
      setTimeout(() => void w.terminate(), 2000).unref();
    }
  }

  private watch(w: Worker, i: number): void {
    w.on('message', (m: FromWorker) => {
      if (m.type === 'log') this.opts.log(m.msg);
      else if (m.type === 'fatal') this.fatal(`worker ${i}: ${m.msg}`);
      else if (m.type === 'syncOut' || m.type === 'syncApplied') this.onSync?.(i, m);
      else if (m.type === 'conns') {
        const p = this.pending.get(m.id);
        if (!p) return;
        p.got.push(m.conns);
        if (p.got.length === p.want) {
          this.pending.delete(m.id);
          p.done(p.got.flat());
        }
      }
    });
    w.on('error', (e) => this.fatal(`worker ${i} failed: ${e.stack ?? e.message}`));
    w.on('exit', (code) => {
      if (!this.stopping) this.fatal(`worker ${i} exited (code ${code})`);
    });
  }

  private fatal(msg: string): void {
    if (this.stopping) return;
    this.opts.log(`${msg}: stopping the daemon (no forwarding at part capacity)`);
    this.opts.onFatal(msg);
  }
}
