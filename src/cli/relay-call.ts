// A CLI command that must not race a running relay (rewriting or deleting accounting
// segments it may be writing) asks that relay to do the work through its admin API, with an
// operator token made for this one request and revoked right after.
import { userInfo } from 'node:os';
import type { Config } from '../config/schema.js';
import { runningRelay, type RelayPresence } from '../accounting/writer.js';
import { newToken } from '../admin/tokens.js';
import type { Store } from '../store/ports.js';
import { UsageError } from './policy-commands.js';

export async function relayOf(config: Config): Promise<RelayPresence | null> {
  return runningRelay(config.accounting.dir);
}

export async function askRelay<T>(relay: RelayPresence, store: Store, path: string, body: unknown, what: string): Promise<T> {
  if (!relay.adminApi) throw new UsageError(`a relay (pid ${relay.pid}) writes these records and its admin API is off: stop the relay, or enable admin, and try again`);
  const { record, token } = newToken({ role: 'operator', name: `cli ${what}`, createdAt: Date.now(), createdBy: process.env.MAILWARDEN_ACTOR ?? userInfo().username, expiresAt: Date.now() + 600_000 });
  await store.putApiToken(record);
  try {
    const { host: listen, port } = relay.adminApi;
    const host = listen === '0.0.0.0' || listen === '::' ? '127.0.0.1' : listen;
    const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/api/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as T & { error?: { message: string } };
    if (!res.ok) throw new UsageError(`the relay refused: ${answer.error?.message ?? res.status}`);
    return answer;
  } finally {
    // the token may be gone with an offboarded tenant's data; it was an operator token, kept apart
    await store.putApiToken({ ...record, revokedAt: Date.now() });
  }
}
