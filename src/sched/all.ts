// Registers every scheduling algorithm under its ipvsadm name (what `-s` accepts). Imported
// once by the service table, so that any code that can create a service can find them.

import type { Service } from '../core/service';
import { DhScheduler } from './dh';
import { FoScheduler } from './fo';
import { LblcScheduler } from './lblc';
import { LblcrScheduler } from './lblcr';
import { LcScheduler } from './lc';
import { MhScheduler } from './mh';
import { NqScheduler } from './nq';
import { OvfScheduler } from './ovf';
import { registerScheduler } from './registry';
import { RrScheduler } from './rr';
import { SedScheduler } from './sed';
import { ShScheduler } from './sh';
import { TwosScheduler } from './twos';
import { WlcScheduler } from './wlc';
import { WrrScheduler } from './wrr';

registerScheduler('rr', () => new RrScheduler());
registerScheduler('wrr', (svc: Service) => new WrrScheduler(svc));
registerScheduler('lc', () => new LcScheduler());
registerScheduler('wlc', () => new WlcScheduler());
registerScheduler('sed', () => new SedScheduler());
registerScheduler('nq', () => new NqScheduler());
registerScheduler('sh', (svc: Service) => new ShScheduler(svc));
registerScheduler('dh', (svc: Service) => new DhScheduler(svc));
registerScheduler('mh', (svc: Service) => new MhScheduler(svc));
registerScheduler('lblc', () => new LblcScheduler());
registerScheduler('lblcr', () => new LblcrScheduler());
registerScheduler('fo', () => new FoScheduler());
registerScheduler('ovf', () => new OvfScheduler());
registerScheduler('twos', () => new TwosScheduler());
