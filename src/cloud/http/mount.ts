/**
 * The operators' HTTP layer in the running server (serve.ts): the fleet API and the dashboard on
 * the server's HTTP port, with the session API (/v1/) mounted on the same port. Started when the
 * QoS server mounts its session API, so that the fleet actions (which end a revoked router's
 * gates through the server's session manager) exist by then.
 */
import { fileURLToPath } from 'node:url';
import type { RequestListener } from 'node:http';
import { coreError, fail, type Result } from '../../core/result.ts';
import type { Logger } from '../../core/log.ts';
import type { FleetActions } from '../fleet/actions.ts';
import type { CommandService } from '../fleet/commands.ts';
import type { ConfigService } from '../fleet/config-service.ts';
import { openFleetStore } from '../fleet/store/index.ts';
import type { FleetStore } from '../fleet/store/types.ts';
import type { Store } from '../store/types.ts';
import { openClearinghouseStore } from '../clearinghouse/store/index.ts';
import { createFleetHttp, type FleetHttp } from './app.ts';

/** Every action refused, naming the option: without enrolment there are no broker logins to make or disable. */
const enrolmentOff: FleetActions = new Proxy({} as FleetActions, {
  get: () => (): Promise<Result<never>> =>
    Promise.resolve(fail(coreError('E_STATE', 'fleet actions need enrolment on: start the server with --identities embedded or dynsec'))),
});

export interface FleetMountOptions {
  readonly store: Store;
  /** The fleet part's store when enrolment is on; otherwise one is opened here on the server's store. */
  readonly fleet: FleetStore | null;
  /** The server's fleet actions, read when the port opens (null with enrolment off). */
  readonly actions: () => FleetActions | null;
  /** The server's remote commands, read when the port opens (null with enrolment off). */
  readonly commands?: () => CommandService | null;
  /** The server's configuration service, read when the port opens (null with enrolment off). */
  readonly config?: () => ConfigService | null;
  readonly host: string;
  readonly port: number;
  readonly version: string;
  readonly log: Logger;
  /** dist/dashboard/ beside the program's bundle (dist/cloud/), unless given. */
  readonly dashboardDir?: string;
  /** The clearinghouse's CDR store URL (--clearinghouse-store); opened here, only read. */
  readonly clearinghouseStoreUrl?: string | null;
}

export interface FleetMount {
  readonly mountHttp: (listener: RequestListener) => Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

export function fleetMount(options: FleetMountOptions): FleetMount {
  let http: FleetHttp | null = null;
  // The clearinghouse keeps its CDRs in its own store; the dashboard reads that store (never
  // writes or migrates it) rather than asking the clearinghouse over MQTT: the rows shown and
  // exported are then exactly those `clearinghouse settlement --store` settles, with no new bus
  // message and no copy to drift. A clearinghouse run by another party would need its own API.
  const clearinghouse = options.clearinghouseStoreUrl ? openClearinghouseStore(options.clearinghouseStoreUrl) : null;
  return {
    async mountHttp(listener) {
      let fleet = options.fleet;
      if (fleet === null) {
        fleet = openFleetStore(options.store);
        await fleet.migrate();
      }
      const dashboardDir = options.dashboardDir ?? fileURLToPath(new URL('../dashboard/', import.meta.url));
      http = createFleetHttp({ store: options.store, fleet, actions: options.actions() ?? enrolmentOff, log: options.log, version: options.version, dashboardDir, sessionListener: listener, clearinghouse, commands: options.commands?.() ?? null, config: options.config?.() ?? null });
      const bound = await http.listen(options.host, options.port);
      if (bound.setupUrl !== null) {
        options.log.warn('no operator account yet: open this link within an hour to create the first admin (or run `callqos-cloud operators add <name> --role admin`)', { url: bound.setupUrl });
      }
      return { host: bound.host, port: bound.port };
    },
    async close() {
      await http?.close();
      await clearinghouse?.close();
    },
  };
}
