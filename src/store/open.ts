// Opens the store the configuration names. Only the composition root and the CLI call this.
// Each adapter is loaded only when chosen: the other's client library stays out of memory.
import type { StoreConfig } from '../config/schema.js';
import { StartupError, systemReason } from '../config/startup-error.js';
import { StoreUnavailableError, type Store } from './ports.js';

/** Throws StartupError naming the key and the store when it cannot be opened. */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.kind === 'embedded') {
    const { EmbeddedStore } = await import('./embedded/store.js');
    try {
      return new EmbeddedStore(config.path);
    } catch (err) {
      throw new StartupError('store.path', `cannot open the embedded store at ${config.path}: ${systemReason(err)}`, { cause: err });
    }
  }
  const { RedisStore } = await import('./redis/store.js');
  const [key, target, connecting] = config.cluster
    ? ['store.cluster', config.cluster.map(withoutPassword).join(', '), () => RedisStore.connect({ urls: config.cluster!, cluster: true, commandTimeoutMs: config.deadlineMs })]
    : config.sentinel
      ? ['store.sentinel', 'the Sentinel set', () => RedisStore.connect({ urls: [], sentinel: config.sentinel, commandTimeoutMs: config.deadlineMs })]
      : ['store.url', withoutPassword(config.url!), () => RedisStore.connect({ urls: [config.url!], commandTimeoutMs: config.deadlineMs })];
  try {
    return await connecting();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw new StartupError(key, `cannot reach Redis at ${target}: ${err.message.replace(/^redis: /, '')}`, { cause: err, unavailable: true });
    throw err;
  }
}

/** a URL as it may be printed: its password replaced */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
