// Connection caps an SMTP listener applies at connect: connections per client address and in
// all. Shared by the relay's front and the feedback listener, which face the same clients
// and the same Internet; and the session deadline's way out.
import type { SMTPServer } from 'smtp-server';
import { replyFor } from './reply-table.js';
export interface ConnectionCapLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
}

export class ConnectionCaps {
  readonly #limits: ConnectionCapLimits;
  readonly #perIp = new Map<string, number>();
  #total = 0;

  constructor(limits: ConnectionCapLimits) {
    this.#limits = limits;
  }

  /** Counts a connection from `ip`; false, and nothing counted, when a cap is reached. */
  admit(ip: string): boolean {
    const count = this.#perIp.get(ip) ?? 0;
    if (count >= this.#limits.maxConnectionsPerIp || this.#total >= this.#limits.maxConnections) return false;
    this.#perIp.set(ip, count + 1);
    this.#total++;
    return true;
  }

  /** connections from `ip` now */
  count(ip: string): number {
    return this.#perIp.get(ip) ?? 0;
  }

  /** A connection admitted from `ip` closed. */
  release(ip: string): void {
    const count = (this.#perIp.get(ip) ?? 1) - 1;
    if (count <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, count);
    this.#total = Math.max(0, this.#total - 1);
  }
}

/** Ends a session past its time limit: 421 4.4.2, after which smtp-server closes the connection. Returns whether it was found. */
export function endSessionPastDeadline(server: SMTPServer, id: string): boolean {
  for (const connection of server.connections) {
    const c = connection as unknown as { id: string; send(code: number, text: string): void };
    if (c.id !== id) continue;
    const reply = replyFor('SESSION_TIME_EXCEEDED');
    c.send(reply.code, `${reply.enhanced} ${reply.text}`);
    return true;
  }
  return false;
}
