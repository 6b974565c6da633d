// Scheduler registry: algorithm name -> factory, as the kernel's
// register_ip_vs_scheduler list. Unknown names make -A/-E fail with ENOENT.

import type { SchedulerFactory } from './scheduler';

const factories = new Map<string, SchedulerFactory>();

export function registerScheduler(name: string, factory: SchedulerFactory): void {
  factories.set(name, factory);
}

export function findScheduler(name: string): SchedulerFactory | undefined {
  return factories.get(name);
}

export function schedulerNames(): string[] {
  return [...factories.keys()];
}
