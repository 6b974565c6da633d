// Applies one parsed ipvsadm command to a director: the executor behind -R, rules files
// and (next) the control socket. Listing commands are not handled here.
//
// Errors come back as IpvsError with ipvsadm's kernel-error text (§1.7); the model checks
// everything before it changes anything, so a refused command changes nothing.

import type { Director } from '../core/director';
import type { ParsedCommand } from '../ipvsadm/commands';

export type ApplyResult = 'applied' | 'ignored';

export function applyCommand(director: Director, cmd: ParsedCommand): ApplyResult {
  const table = director.services;
  switch (cmd.cmd) {
    case 'add-service':
      table.addService(cmd.service);
      return 'applied';
    case 'edit-service':
      table.editService(cmd.service);
      return 'applied';
    case 'delete-service':
      table.deleteService(cmd.service);
      return 'applied';
    case 'flush':
      table.flush();
      return 'applied';
    case 'add-server':
      table.addDest(cmd.service, cmd.dest);
      return 'applied';
    case 'edit-server':
      table.editDest(cmd.service, cmd.dest);
      return 'applied';
    case 'delete-server':
      table.deleteDest(cmd.service, cmd.dest.addr, cmd.dest.port);
      return 'applied';
    case 'zero':
      table.zero(cmd.service);
      return 'applied';
    case 'set':
      director.timeouts.set(cmd.timeouts.tcp, cmd.timeouts.tcpfin, cmd.timeouts.udp);
      return 'applied';
    default:
      return 'ignored';
  }
}
