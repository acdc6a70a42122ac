// What a report does to the originating tenant, by the rules in config/feedback-rules.yaml:
// for a complaint, its Feedback-Type's action; for each bounced recipient, a verdict (hard,
// soft, policy, ignore) and the id of the rule that decided it, so every decision can be
// explained.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { BounceRecipient } from './parse.js';

export const BUNDLED_RULES = new URL('../../config/feedback-rules.yaml', import.meta.url);

const complaintAction = z.enum(['complaint', 'unsubscribe', 'count', 'ignore']);
const verdict = z.enum(['hard', 'soft', 'policy', 'ignore']);
const status = z.string().regex(/^[245]\.(\d{1,3}|\*)(\.(\d{1,3}|\*))?$/, 'an RFC 3463 code such as 5.1.1, or 5.7.* for a whole subject');
const regex = z.string().refine((r) => {
  try {
    new RegExp(r, 'i');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

const rulesSchema = z.strictObject({
  version: z.literal(1),
  complaints: z.record(z.string(), complaintAction),
  unknownComplaint: complaintAction,
  bounces: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[a-z0-9-]+$/),
        when: z.strictObject({
          action: z.array(z.string()).optional(),
          status: z.array(status).optional(),
          diagnosticType: z.array(z.string()).optional(),
          text: regex.optional(),
          anyText: regex.optional(),
        }),
        verdict,
      }),
    )
    .min(1),
});

export type ComplaintAction = z.output<typeof complaintAction>;
export type BounceVerdict = z.output<typeof verdict>;

export interface BounceClass {
  readonly verdict: BounceVerdict;
  /** the id of the rule that decided */
  readonly rule: string;
}

interface CompiledRule {
  readonly id: string;
  readonly verdict: BounceVerdict;
  readonly test: (b: BounceRecipient) => boolean;
}

export class FeedbackRules {
  readonly #complaints: ReadonlyMap<string, ComplaintAction>;
  readonly #unknownComplaint: ComplaintAction;
  readonly #bounces: readonly CompiledRule[];

  private constructor(rules: z.output<typeof rulesSchema>) {
    this.#complaints = new Map(Object.entries(rules.complaints).map(([k, v]) => [k.toLowerCase(), v]));
    this.#unknownComplaint = rules.unknownComplaint;
    this.#bounces = rules.bounces.map((r) => ({ id: r.id, verdict: r.verdict, test: compile(r.when) }));
  }

  /** Reads and checks a rule file; errors name the file and the rule. */
  static load(file: URL | string = BUNDLED_RULES): FeedbackRules {
    let data: unknown;
    try {
      data = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${String(file)}: ${(err as Error).message}`, { cause: err });
    }
    const result = rulesSchema.safeParse(data);
    if (!result.success) {
      const problems = result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
      throw new Error(`${String(file)}: ${problems.join('; ')}`);
    }
    return new FeedbackRules(result.data);
  }

  complaint(feedbackType: string): ComplaintAction {
    return this.#complaints.get(feedbackType.toLowerCase()) ?? this.#unknownComplaint;
  }

  bounce(b: BounceRecipient): BounceClass {
    for (const rule of this.#bounces) if (rule.test(b)) return { verdict: rule.verdict, rule: rule.id };
    return { verdict: 'soft', rule: 'none' };
  }
}

function compile(when: z.output<typeof rulesSchema>['bounces'][number]['when']): (b: BounceRecipient) => boolean {
  const checks: Array<(b: BounceRecipient) => boolean> = [];
  if (when.action) {
    const actions = new Set(when.action.map((a) => a.toLowerCase()));
    checks.push((b) => b.action !== null && actions.has(b.action));
  }
  if (when.status) {
    const patterns = when.status.map((s) => new RegExp(`^${s.replace(/\./g, '\\.').replace(/\*/g, '\\d{1,3}')}${s.split('.').length === 2 ? '\\.\\d{1,3}' : ''}$`));
    checks.push((b) => b.status !== null && patterns.some((p) => p.test(b.status!)));
  }
  if (when.diagnosticType) {
    const types = new Set(when.diagnosticType.map((t) => t.toLowerCase()));
    checks.push((b) => b.diagnostic?.type != null && types.has(b.diagnostic.type));
  }
  if (when.text !== undefined) {
    const re = new RegExp(when.text, 'i');
    checks.push((b) => re.test(b.diagnostic?.text ?? ''));
  }
  if (when.anyText !== undefined) {
    const re = new RegExp(when.anyText, 'i');
    checks.push((b) => re.test(b.diagnostic?.text ?? '') || re.test(b.explanation ?? ''));
  }
  return (b) => checks.every((c) => c(b));
}
