// Request and response schemas of the admin API, shared by the HTTP handlers, the CLI and
// the OpenAPI description (generated from these, so the three cannot drift apart).
import { z } from 'zod';
import { SUPPRESSION_REASONS } from '../domain/policy.js';

export { ROLES, type Role } from '../domain/access.js';

/** every schema that the OpenAPI description names */
export const apiSchemas = z.registry<{ id: string }>();

/** CR, LF, NUL and the other C0 and C1 controls: text that listings and CSV exports give back keeps none */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const CONTROL_CHARACTERS_MESSAGE = 'must not contain control characters (CR, LF, NUL, tab and the like)';

export function hasControlCharacters(text: string): boolean {
  return CONTROL.test(text);
}

/** free text of at most `max` characters, without control characters */
const text = (max: number) => z.string().max(max).refine((s) => !CONTROL.test(s), CONTROL_CHARACTERS_MESSAGE);

const reason = text(500).pipe(z.string().trim().min(1, 'a reason is required'));
const isoDate = z.iso.datetime({ offset: true });

export const suspendRequest = z
  .strictObject({
    scope: z.enum(['tenant', 'domain', 'sender']).describe('what is suspended: the whole tenant, one sender domain, or one sender address'),
    value: text(320).pipe(z.string().min(1)).optional().describe('the sender domain or sender address; absent for the whole tenant'),
    reason,
    ticket: text(100).pipe(z.string().min(1)).optional(),
    expiresAt: isoDate.optional().describe('when the suspension ends by itself; absent: until lifted'),
    force: z.boolean().optional().describe("a domain or sender outside the tenant's sender domains: refused unless true (it would suspend nothing the tenant sends)"),
  })
  .refine((r) => (r.scope === 'tenant') === (r.value === undefined), {
    message: 'value is required for a domain or sender suspension, and not allowed for a tenant suspension',
    path: ['value'],
    // also when other fields are wrong: every problem is reported at once
    when: (payload) => typeof payload.value === 'object' && payload.value !== null && ['tenant', 'domain', 'sender'].includes((payload.value as { scope?: string }).scope ?? ''),
  })
  .meta({ examples: [{ scope: 'domain', value: 'news.acme.example', reason: 'phishing reported by three providers', ticket: 'ABUSE-17', expiresAt: '2026-12-31T00:00:00Z' }] })
  .register(apiSchemas, { id: 'SuspendRequest' });

export const liftRequest = z
  .strictObject({ reason, ticket: text(100).pipe(z.string().min(1)).optional().describe('the abuse desk\'s ticket, kept with the reason') })
  .meta({ examples: [{ reason: 'list cleaned, confirmed by phone', ticket: 'ABUSE-42' }] })
  .register(apiSchemas, { id: 'LiftRequest' });

export const suppressRequest = z
  .strictObject({
    entries: z
      .array(
        z.strictObject({
          address: text(320).pipe(z.string().min(3)),
          reason: z.enum(SUPPRESSION_REASONS).default('manual'),
          source: text(200).pipe(z.string().min(1)).optional(),
          expiresAt: isoDate.optional(),
        }),
      )
      .min(1)
      .max(10_000),
  })
  .meta({ examples: [{ entries: [{ address: 'bob@example.org', reason: 'complaint', source: 'support ticket 311' }] }] })
  .register(apiSchemas, { id: 'SuppressRequest' });

export const subjectRequest = z
  .strictObject({ address: text(320).pipe(z.string().min(3)) })
  .meta({ examples: [{ address: 'bob@example.org' }] })
  .register(apiSchemas, { id: 'SubjectRequest' });

export const offboardRequest = z
  .strictObject({ returnDir: text(4096).pipe(z.string().regex(/^\//, 'an absolute path on the relay\'s host, new or empty')) })
  .meta({ examples: [{ returnDir: '/var/lib/mailwarden/returned/acme' }] })
  .register(apiSchemas, { id: 'OffboardRequest' });

export const unsuppressRequest = z
  .strictObject({ address: text(320).pipe(z.string().min(3)) })
  .meta({ examples: [{ address: 'bob@example.org' }] })
  .register(apiSchemas, { id: 'UnsuppressRequest' });

export const suppressionLookupRequest = z
  .strictObject({ address: text(320).pipe(z.string().min(3)).describe('in the body, never in a URL') })
  .meta({ examples: [{ address: 'bob@example.org' }] })
  .register(apiSchemas, { id: 'SuppressionLookupRequest' });

/** a day (2026-11-21, from its start) or a time with its offset */
const dayOrTime = z.union([z.iso.date(), isoDate]);

export const accountingQueryRequest = z
  .strictObject({
    from: dayOrTime.optional().describe('inclusive: a day (from its start, UTC) or a time'),
    to: dayOrTime.optional().describe('exclusive; a day includes that whole day'),
    address: text(320).pipe(z.string().min(3)).optional().describe('only the records of this address (by its pseudonym; the answer holds pseudonyms)'),
    messageId: text(998).pipe(z.string().min(1)).optional(),
    archived: z.boolean().default(true).describe('archived days too'),
    limit: z.number().int().min(1).max(10_000).default(1000),
    cursor: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'the next cursor of an earlier answer').optional(),
    format: z.enum(['json', 'csv']).default('json').describe('csv: PowerMTA-style accounting columns; the next cursor is then in the Mailwarden-Next-Cursor header'),
  })
  .meta({ examples: [{ from: '2026-11-01', to: '2026-11-30', format: 'csv', limit: 1000 }] })
  .register(apiSchemas, { id: 'AccountingQueryRequest' });

export const suspensionView = z
  .object({
    id: z.string(),
    tenant: z.string(),
    scope: z.enum(['tenant', 'domain', 'sender']),
    value: z.string().optional(),
    reason: z.string(),
    actor: z.string(),
    ticket: z.string().optional(),
    source: z.enum(['manual', 'automatic']),
    createdAt: isoDate,
    expiresAt: isoDate.optional(),
    evidence: z.record(z.string(), z.unknown()).optional().describe('for an automatic suspension: window, counts, rate, threshold, sample report ids'),
    lifted: z.object({ at: isoDate, by: z.string(), reason: z.string() }).optional(),
  })
  .register(apiSchemas, { id: 'Suspension' });

export const suppressionView = z
  .object({
    pseudonym: z.string().describe('keyed pseudonym of the address; listings never show the address'),
    reason: z.enum(SUPPRESSION_REASONS),
    source: z.string().optional(),
    createdAt: isoDate,
    expiresAt: isoDate.optional(),
  })
  .register(apiSchemas, { id: 'SuppressionEntry' });

const volume = z.object({ delivered: z.number(), complaints: z.number(), hardBounces: z.number(), complaintRate: z.number().nullable(), hardBounceRate: z.number().nullable() });

export const tenantView = z
  .object({
    id: z.string(),
    domains: z.array(z.string()),
    networks: z.array(z.string()),
    username: z.string().optional(),
    createdAt: isoDate,
    activeSuspensions: z.number(),
    suppressions: z.number(),
    volume: z.record(z.string(), volume).describe('per window ("24h", "7d"): deliveries, complaints, hard bounces and their rates (null below the minimum volume)'),
    domainVolume: z.record(z.string(), z.record(z.string(), volume)).describe('the same per sender domain of the tenant'),
  })
  .register(apiSchemas, { id: 'Tenant' });

export const feedbackRecordView = z
  .object({
    id: z.string(),
    receivedAt: isoDate,
    via: z.enum(['smtp', 'http', 'cli']),
    kind: z.enum(['complaint', 'bounce']),
    outcome: z.enum(['applied', 'counted', 'unattributed', 'forged']),
    attribution: z.string(),
    tenant: z.string().optional(),
    messageRef: z.string().optional(),
    senderDomain: z.string().optional(),
    feedbackTypes: z.array(z.string()),
    bounces: z.array(z.object({ status: z.string().nullable(), action: z.string().nullable(), verdict: z.string(), rule: z.string() })),
    counts: z.record(z.string(), z.number()),
    notes: z.array(z.string()),
    resolution: z
      .object({ action: z.enum(['assigned', 'dismissed']), tenant: z.string().optional(), record: z.string().optional(), reason: z.string(), by: z.string(), at: isoDate })
      .optional()
      .describe('a review record\'s: what the abuse desk decided'),
    duplicate: z.boolean().optional(),
  })
  .register(apiSchemas, { id: 'FeedbackRecord' });

export const errorView = z
  .object({
    error: z.object({
      code: z.string().describe('UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_INPUT, NOT_A_REPORT, UNAVAILABLE, INTERNAL'),
      message: z.string(),
      problems: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
    requestId: z.string(),
  })
  .register(apiSchemas, { id: 'Error' });

/** a review record given to a tenant */
export const assignRequest = z
  .strictObject({ tenant: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a tenant id'), reason })
  .meta({ examples: [{ tenant: 'acme', reason: 'the Message-ID is one of acme\'s newsletters, the reference was stripped' }] });

/** a review record dismissed */
export const dismissRequest = z.strictObject({ reason }).meta({ examples: [{ reason: 'a provider\'s test report' }] });

export type SuspendRequest = z.output<typeof suspendRequest>;
export type SuppressRequest = z.output<typeof suppressRequest>;

/** zod issues as the API and the CLI report them: the field's path and what is wrong with it */
export function problemsOf(error: z.ZodError): Array<{ field: string; message: string }> {
  return error.issues.flatMap((i) =>
    // an unknown key is named by itself, as the configuration's errors name it
    i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ field: [...i.path, k].join('.'), message: 'unknown key' })) : [{ field: i.path.join('.') || '(body)', message: i.message }],
  );
}

export const tokenCreateRequest = z
  .strictObject({
    role: z.enum(['operator', 'abuse-desk', 'tenant']),
    tenant: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).optional().describe('with role tenant, and only with it'),
    name: text(100).pipe(z.string().min(1)).optional(),
    expires: z.string().regex(/^(\d+d|never)$/, 'a number of days such as 90d, or never').default('90d'),
  })
  .refine((t) => (t.role === 'tenant') === (t.tenant !== undefined), { message: 'tenant goes with role tenant, and only with it', path: ['tenant'] })
  .meta({ examples: [{ role: 'tenant', tenant: 'acme', name: 'acme portal', expires: '90d' }] })
  .register(apiSchemas, { id: 'TokenCreateRequest' });
