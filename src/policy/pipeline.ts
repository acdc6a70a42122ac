// The policy applied at MAIL FROM: stages in order, the first refusal wins.
import { ACCEPT, type Verdict } from '../domain/verdict.js';
import type { Transaction } from '../domain/envelope.js';
import { checkSenderDomain } from './sender-domain.js';

export type MailStage = (tx: Transaction) => Verdict | Promise<Verdict>;

export const defaultMailStages: readonly MailStage[] = [checkSenderDomain];

export async function evaluateMail(stages: readonly MailStage[], tx: Transaction): Promise<Verdict> {
  for (const stage of stages) {
    const verdict = await stage(tx);
    if (verdict.kind !== 'accept') return verdict;
  }
  return ACCEPT;
}
