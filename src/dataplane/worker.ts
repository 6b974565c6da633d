// A data-plane worker thread (node worker_threads): one AF_PACKET socket in the fanout
// group, its own connection-table shard, the same Pipeline and Director as the
// single-threaded daemon. It pins itself to its CPU, tells the main thread it has joined
// the group (the pool starts the next worker only then: join order is the fanout index),
// then forwards until told to stop.
//
// Between RX blocks it takes the main thread's messages: a new model (services, dests,
// MACs, timeouts; src/dataplane/worker-model.ts), the VIPs to stand by for (VRRP backup,
// --standby), connection sync for its shard (src/dataplane/shard-sync.ts: start or stop
// the sync master, apply backup entries), a request for its connection list (`-L -c`), stop. After every block and every clock tick it publishes its counters
// (src/dataplane/shard-publisher.ts). It never resolves neighbours or answers ARP: the
// main thread does, and its socket is the only one that receives ARP.

import { parentPort, workerData } from 'node:worker_threads';
import { Director } from '../core/director';
import { connections } from '../control/ipvsadm-exec';
import { native } from '../io/native';
import { openCapture } from '../io/open-capture';
import { Pipeline } from './pipeline';
import { ShardPublisher } from './shard-publisher';
import { ShardSync } from './shard-sync';
import { SharedCounters } from './shared-counters';
import type { FromWorker, ToWorker, WorkerInit } from './worker-messages';
import { applyModel } from './worker-model';

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('src/dataplane/worker.ts runs only as a worker thread');
  const init = workerData as WorkerInit;
  const post = (m: FromWorker) => port.postMessage(m);
  const log = (msg: string) => post({ type: 'log', msg: `worker ${init.index}: ${msg}` });

  if (init.cpu >= 0) native().setThreadAffinity([init.cpu]);
  const backend = openCapture({
    mode: 'afpacket', ifname: init.ifname, vnetHdr: init.vnetHdr, log, onError: (e) => log(`capture: ${e.message}`),
    shard: { index: init.index, workers: init.workers, fanoutGroup: init.fanoutGroup, fanoutKey: init.fanoutKey },
  }).backend;
  const now = () => Math.floor((Date.now() - init.t0) / 1000);
  const director = new Director({ maxConns: init.maxConns, now: now() });
  const pipeline = new Pipeline(director, backend, init.ourIp, null);
  const shared = new SharedCounters(init.layout, init.sab);
  const publisher = new ShardPublisher(shared, init.index, director, pipeline.stats);
  const sync = new ShardSync(director, (out) => post({ type: 'syncOut', out }), (counts) => post({ type: 'syncApplied', counts }));
  let vipsKey = '';

  port.on('message', (m: ToWorker) => {
    if (m.type === 'model') {
      try {
        const applied = applyModel(director, m.model);
        publisher.setServices(applied.services, applied.slots, applied.tags);
        const vips = [...director.index.vips4].sort((a, b) => a - b);
        if (vips.join(',') !== vipsKey) {
          vipsKey = vips.join(',');
          backend.setVips(vips);
        }
      } catch (e) {
        log(`model ${m.model.version} not fully applied: ${(e as Error).message}`);
      }
      publisher.sync();
      shared.setApplied(init.index, m.model.version);
    } else if (m.type === 'standby') {
      pipeline.setStandbyState(m.state);
    } else if (m.type === 'syncMaster') {
      sync.startMaster(m.gen, m.cfg);
    } else if (m.type === 'syncMasterStop') {
      sync.stopMaster(m.gen);
    } else if (m.type === 'syncApply') {
      sync.apply(m.version, m.threshold, m.entries);
      publisher.sync();
    } else if (m.type === 'conns') {
      post({ type: 'conns', id: m.id, conns: connections(director) });
    } else if (m.type === 'stop') {
      sync.close();
      clearInterval(timer);
      backend.stop();
      backend.close();
      port.close();
    }
  });

  const onBlock = pipeline.onBlock;
  backend.start((bytes, descs, count) => {
    onBlock(bytes, descs, count);
    publisher.sync();
  });
  const timer = setInterval(() => {
    director.tick(now());
    pipeline.flush();
    publisher.sync();
  }, 1000);
  post({ type: 'ready', cpus: native().getThreadAffinity() });
}

try {
  main();
} catch (e) {
  parentPort?.postMessage({ type: 'fatal', msg: (e as Error).message } satisfies FromWorker);
  process.exitCode = 1;
}
