// Starting and stopping the HTTP servers mailwarden runs (metrics, admin API): listen with
// a start-up error reported, close with every connection cut.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningHttpServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function listenHttp(server: Server, host: string, port: number): Promise<RunningHttpServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
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
