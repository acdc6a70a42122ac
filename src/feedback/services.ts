// The feedback side, put together once for the relay and for the CLI: the intake, the rate
// watch that follows each recorded report, and the notifier that tells people.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { MasterKey } from '../crypto/keys.js';
import type { AdminService } from '../admin/service.js';
import type { FeedbackRecord } from '../domain/feedback.js';
import type { Store } from '../store/ports.js';
import { Notifier } from '../notify/notifier.js';
import { BUNDLED_RULES, FeedbackRules } from './classify.js';
import { FeedbackIntake, type MessageMatch, type ScopePlan } from './intake.js';
import type { AccountingStore } from '../accounting/port.js';
import type { Accountant } from '../accounting/accountant.js';
import { RateWatch, type RateDecision } from './rates.js';

export interface FeedbackServicesOptions {
  readonly config: Config;
  readonly store: Store;
  readonly master: MasterKey;
  readonly admin: AdminService;
  readonly log: Logger;
  readonly now: () => number;
  /** sends one notice email to one address, with the null envelope sender */
  readonly sendMail: (to: string, raw: Buffer) => Promise<void>;
  readonly env: NodeJS.ProcessEnv;
  readonly hostname: string;
  readonly onDecision?: (d: RateDecision) => void;
  /** writes accounting records of what attributed reports said */
  readonly accountant?: Accountant;
  /** the accounting records, where a report without a reference is looked for by its Message-ID */
  readonly records: AccountingStore;
  readonly onNotice?: (channel: 'webhook' | 'email', ok: boolean) => void;
}

export interface FeedbackServices {
  readonly rules: FeedbackRules;
  readonly intake: FeedbackIntake;
  readonly rates: RateWatch;
  readonly notifier: Notifier;
}

export function feedbackServices(o: FeedbackServicesOptions): FeedbackServices {
  const { config, store, log } = o;
  const rules = FeedbackRules.load(config.feedback.rulesFile ?? BUNDLED_RULES);
  const n = config.notifications;
  const notifier = new Notifier({
    contactOf: async (tenant) => (await store.getTenant(tenant))?.abuseContact ?? null,
    abuseDesk: n.abuseDesk ?? null,
    secret: o.env.MAILWARDEN_WEBHOOK_SECRET ?? n.webhookSecret ?? null,
    from: n.from ?? `mailwarden@${o.hostname}`,
    sendMail: o.sendMail,
    retryDelaysMs: n.retryDelaysMs,
    timeoutMs: n.timeoutMs,
    log: log.child({ component: 'notify' }),
    onOutcome: o.onNotice,
    outbox: store,
    now: o.now,
  });
  const rates = new RateWatch({
    store,
    suspend: (input) => o.admin.suspend(input),
    notify: (notice) => notifier.notify(notice),
    settings: config.feedback.rates,
    now: o.now,
    log: log.child({ component: 'rates' }),
    onDecision: o.onDecision,
  });
  const afterRecorded = async (record: FeedbackRecord, scope: ScopePlan): Promise<void> => {
    if (record.tenant) o.accountant?.reportFindings(record.tenant, record.id, scope.findings);
    const { complaints, hardBounces } = record.counts;
    if (!record.tenant || complaints + hardBounces === 0) return;
    try {
      await store.countVolume(record.tenant, record.senderDomain ?? null, { complaints, hardBounces }, record.receivedAt);
      await rates.check(record.tenant, record.senderDomain ?? null);
    } catch (err) {
      log.error({ report: record.id, tenant: record.tenant, err: (err as Error).message }, 'report recorded but not counted toward rates');
    }
  };
  // a report without a reference: its Message-ID in the recent accounting records of each tenant
  const findMessage = async (messageId: string): Promise<MessageMatch[]> => {
    const from = o.now() - config.feedback.messageIdLookbackDays * 86_400_000;
    const found: MessageMatch[] = [];
    for (const t of await store.listTenants()) {
      const byTx = new Map<string, { tenant: string; tx: string; senderDomain: string | null; recipients: Array<{ p: string; d: string }> }>();
      for await (const r of o.records.query({ tenant: t.id, messageId, from })) {
        if (r.type !== 'relayed' || !r.tx) continue;
        const m = byTx.get(r.tx) ?? { tenant: t.id, tx: r.tx, senderDomain: r.sender?.d ?? null, recipients: [] };
        m.recipients.push(r.recipient);
        byTx.set(r.tx, m);
      }
      found.push(...byTx.values());
    }
    return found;
  };
  const intake = new FeedbackIntake({
    findMessage,
    rules,
    keyOf: (tenant) => o.admin.keyOf(tenant),
    store,
    suppress: (tenant, inputs) => o.admin.suppress(tenant, inputs),
    master: o.master,
    now: o.now,
    afterRecorded,
  });
  return { rules, intake, rates, notifier };
}
