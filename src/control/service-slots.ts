// Counter slots for services (src/dataplane/shared-counters.ts): a small integer per live
// service, handed out by the main thread and sent to the workers with the model. A slot
// freed by a deleted service may be given to a new one at once: the workers tag their
// slot rows with the service id, so old counts are never credited to the new service.

import type { Service } from '../core/service';

export class ServiceSlots {
  private readonly bySvc = new Map<Service, number>();
  private readonly free: number[] = [];
  private next = 0;

  constructor(private readonly max: number) {}

  /** The service's slot, -1 when every slot is taken (its counters are then not summed). */
  slotOf = (svc: Service): number => {
    let s = this.bySvc.get(svc);
    if (s === undefined) {
      s = this.free.length ? this.free.pop()! : this.next < this.max ? this.next++ : -1;
      if (s >= 0) this.bySvc.set(svc, s);
    }
    return s;
  };

  /** Frees the slots of services no longer in `live`. */
  prune(live: readonly Service[]): void {
    const keep = new Set(live);
    for (const [svc, s] of this.bySvc) {
      if (!keep.has(svc)) {
        this.bySvc.delete(svc);
        this.free.push(s);
      }
    }
  }
}
