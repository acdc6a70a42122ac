// Opens the store the configuration names. Only the composition root and the CLI call this.
// Each adapter is loaded only when chosen: the other's client library stays out of memory.
import type { StoreConfig } from '../config/schema.js';
import type { Store } from './ports.js';

export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.kind === 'embedded') {
    const { EmbeddedStore } = await import('./embedded/store.js');
    return new EmbeddedStore(config.path);
  }
  const { RedisStore } = await import('./redis/store.js');
  if (config.cluster) return RedisStore.connect({ urls: config.cluster, cluster: true, commandTimeoutMs: config.deadlineMs });
  if (config.sentinel) return RedisStore.connect({ urls: [], sentinel: config.sentinel, commandTimeoutMs: config.deadlineMs });
  return RedisStore.connect({ urls: [config.url!], commandTimeoutMs: config.deadlineMs });
}
