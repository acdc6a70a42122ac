// What a configuration reload (SIGHUP) can change in a running relay, and what it cannot:
// the keys that changed between the running configuration and the file read again, split
// into those applied at once and those that wait for a restart. config/default.yaml says
// the same in its header.
import type { Config } from './schema.js';

/** keys (or key prefixes) a running relay takes up without dropping a connection */
export const RELOADABLE = [
  'log.level',
  'smtp.limits.maxRecipients',
  'smtp.limits.maxMessageBytes',
  'smtp.limits.maxLineLength',
  'smtp.limits.maxHeaderFields',
  'smtp.limits.maxHops',
  'limits',
  'tenants',
  'feedback.rulesFile',
] as const;

export interface ReloadPlan {
  /** changed keys the relay takes up now */
  readonly apply: readonly string[];
  /** changed keys that take effect at the next start */
  readonly restart: readonly string[];
}

/** leaf paths of a configuration: objects are walked, arrays and values are leaves */
function leaves(value: unknown, path: string, out: Map<string, string>): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
    // an object that vanished or appeared whole still shows up as a change of its path
    if (Object.keys(value).length === 0) out.set(path, '{}');
  } else out.set(path, JSON.stringify(value));
  return out;
}

function reloadable(path: string): string | null {
  return RELOADABLE.find((k) => path === k || path.startsWith(`${k}.`)) ?? null;
}

export function planReload(running: Config, next: Config): ReloadPlan {
  const before = leaves(running, '', new Map());
  const after = leaves(next, '', new Map());
  const apply = new Set<string>();
  const restart = new Set<string>();
  for (const path of new Set([...before.keys(), ...after.keys()])) {
    if (before.get(path) === after.get(path)) continue;
    const key = reloadable(path);
    if (key) apply.add(key);
    else restart.add(path);
  }
  return { apply: [...apply].sort(), restart: [...restart].sort() };
}
