// Starting and stopping the HTTP servers mailwarden runs (metrics, admin API): listen with
// a start-up error reported, close with every connection cut.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StartupError, systemReason } from '../config/startup-error.js';

export interface RunningHttpServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** `key`: the configuration key of the port, for the error when it cannot listen */
export async function listenHttp(server: Server, host: string, port: number, key = 'port'): Promise<RunningHttpServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(key, host, port, err)));
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** the error a listener that could not listen gives: the key, the address and why */
export function listenError(key: string, host: string, port: number, err: unknown): StartupError {
  return new StartupError(key, `cannot listen on ${host}:${port}: ${systemReason(err)}`, { cause: err });
}
