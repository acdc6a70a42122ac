// Opens the store the configuration names. Only the composition root and the CLI call this.
import type { StoreConfig } from '../config/schema.js';
import { EmbeddedStore } from './embedded/store.js';
import type { Store } from './ports.js';
import { RedisStore } from './redis/store.js';

export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.kind === 'embedded') return new EmbeddedStore(config.path);
  if (config.cluster) return RedisStore.connect({ urls: config.cluster, cluster: true, commandTimeoutMs: config.deadlineMs });
  if (config.sentinel) return RedisStore.connect({ urls: [], sentinel: config.sentinel, commandTimeoutMs: config.deadlineMs });
  return RedisStore.connect({ urls: [config.url!], commandTimeoutMs: config.deadlineMs });
}
