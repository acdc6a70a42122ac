// Accounting commands: retention runs by hand.
import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import { runRetention } from '../accounting/retention.js';
import { audited, type Io } from './policy-commands.js';

export async function retentionRun(config: Config, args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean' } } });
  const { activeDays, archiveDays } = config.accounting.retention;
  const dryRun = values['dry-run'] ?? false;
  io.err(`accounting in ${config.accounting.dir}: archiving segments older than ${activeDays} days, deleting those older than ${archiveDays}${dryRun ? ' (dry run: nothing is changed)' : ''}`);
  const result = await audited(
    config,
    { action: 'retention.run' },
    () =>
      runRetention({
        dir: config.accounting.dir,
        activeDays,
        archiveDays,
        now: Date.now(),
        dryRun,
        onProgress: (tenant, done, of, t) => io.err(`  [${done}/${of}] ${tenant}: ${t.archived} archived, ${t.deleted} deleted so far`),
      }),
    (r) => ({ archived: r.archived, deleted: r.deleted, dryRun }),
  );
  io.out(`${dryRun ? 'would archive' : 'archived'} ${result.archived} segment(s), ${dryRun ? 'would delete' : 'deleted'} ${result.deleted} (${(result.bytesDeleted / 1024).toFixed(0)} KiB)`);
  return 0;
}
