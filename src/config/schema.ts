// The configuration schema: the single source of truth for every key, its type and its
// default. config/default.yaml documents each key; test/unit/config.test.ts keeps them in step.
import { isIP } from 'node:net';
import { z } from 'zod';
import { MAX_REPORT_BYTES } from '../domain/feedback.js';

const port = z.number().int().min(0).max(65535);

/** pino's levels, for log.level and MAILWARDEN_LOG_LEVEL */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const ms = z.number().int().min(1);
const host = z.string().min(1);

const cidr = z.string().refine((value) => {
  const [address, bits, extra] = value.split('/');
  if (extra !== undefined || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}, 'must be an IP address or network in CIDR notation, such as 192.0.2.0/24');

const domainName = z
  .string()
  .min(1)
  .refine((d) => !/[\s@<>]/.test(d), 'must be a domain name such as example.com or *.example.com');

const scryptHash = z
  .string()
  .regex(
    /^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/,
    'must be a scrypt hash as printed by `mailwarden tenant hash-password`, never the password itself',
  );

export const limitsSchema = z.strictObject({
  maxMessageBytes: z.number().int().min(1024).default(50 * 1024 * 1024),
  maxRecipients: z.number().int().min(1).default(100),
  maxCommandLength: z.number().int().min(512).default(4096),
  /** octets of a message line before its CRLF: RFC 5321 allows 998 */
  maxLineLength: z.number().int().min(78).default(998),
  maxHeaderFields: z.number().int().min(1).default(1000),
  maxHops: z.number().int().min(1).default(50),
  maxConnections: z.number().int().min(1).default(1000),
  maxConnectionsPerIp: z.number().int().min(1).default(50),
  idleTimeoutMs: ms.default(300_000),
  sessionTimeoutMs: ms.default(1_800_000),
});

const rates = z.array(
  z.strictObject({
    limit: z.number().int().min(1),
    per: z.enum(['second', 'minute', 'hour', 'day']),
  }),
);

export const authSchema = z
  .strictObject({
    /** how long a verified username and password are taken without scrypt */
    cacheTtlMs: z.number().int().min(0).default(300_000),
    cacheEntries: z.number().int().min(0).default(10_000),
    /** scrypt runs at once at most; the rest of libuv's threads stay free for file writes */
    maxConcurrentHashes: z.number().int().min(1).default(2),
    /** failed AUTHs per client address, across connections and replicas */
    failuresPerClient: rates.default([{ limit: 10, per: 'hour' }]),
    /** failed AUTHs per username, from anywhere */
    failuresPerUsername: rates.default([{ limit: 30, per: 'hour' }]),
  })
  .prefault({});

export const smtpSchema = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(2525),
  hostname: z.string().min(1).optional(),
  greetingDelayMs: z.number().int().min(0).default(0),
  /** load balancers that put a PROXY protocol (v1) header in front of each connection */
  proxyFrom: z.array(z.string().refine((a) => isIP(a) !== 0, 'must be the IP address of a load balancer')).default([]),
  shutdownGraceMs: ms.default(30_000),
  /**
   * processes that take SMTP and feedback connections on the shared listening sockets, under
   * one primary that runs the admin API, metrics and background jobs; 'auto': one per core
   */
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default(1),
  /** delivery status notifications for recipients the upstream refused while it took others */
  dsn: z
    .strictObject({
      /** waits between attempts; after the last one a DSN that still fails is given up (logged) */
      retryDelaysMs: z.array(ms).min(1).default([1_000, 10_000, 60_000, 300_000, 1_800_000]),
      /** how long a DSN stays with the process that works on it beyond its next attempt; then another takes it over */
      takeOverAfterMs: ms.default(60_000),
    })
    .prefault({}),
  tls: z
    .strictObject({
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      devCertDir: z.string().min(1).default('./data/tls'),
      minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    })
    .refine((t) => (t.cert === undefined) === (t.key === undefined), {
      message: 'cert and key go together: give both, or neither for a generated development certificate',
    })
    .prefault({}),
  limits: limitsSchema.prefault({}),
  auth: authSchema,
});

export const upstreamSchema = z
  .strictObject({
    dev: z.literal('outbox').optional(),
    outboxDir: z.string().min(1).default('./data/outbox'),
    host: host.default('127.0.0.1'),
    port: port.default(25),
    heloName: z.string().min(1).optional(),
    starttls: z.enum(['opportunistic', 'required', 'off']).default('opportunistic'),
    rejectUnauthorized: z.boolean().default(true),
    /**
     * recipients the upstream takes per message; past it (or past what it showed by answering
     * 452), a client's RCPT gets 452 4.5.3 and the client sends those in its next transaction
     */
    maxRecipients: z.number().int().min(1).optional(),
    pool: z
      .strictObject({
        maxIdle: z.number().int().min(0).default(16),
        idleTimeoutMs: ms.default(2_000),
      })
      .prefault({}),
    timeouts: z
      .strictObject({
        connectMs: ms.default(10_000),
        greetingMs: ms.default(10_000),
        socketMs: ms.default(60_000),
        finalReplyMs: ms.default(120_000),
      })
      .prefault({}),
  })
  .prefault({ dev: 'outbox' });


export const limitsRatesSchema = z.strictObject({
  messages: rates.optional(),
  recipients: rates.optional(),
  perSender: rates.optional(),
  perRecipientDomain: rates.optional(),
  nullSender: rates.optional(),
});

export const defaultRates = {
  messages: [
    { limit: 1000, per: 'minute' },
    { limit: 20000, per: 'hour' },
    { limit: 200000, per: 'day' },
  ],
  recipients: [
    { limit: 5000, per: 'minute' },
    { limit: 100000, per: 'hour' },
    { limit: 1000000, per: 'day' },
  ],
  perSender: [{ limit: 5000, per: 'hour' }],
  perRecipientDomain: [{ limit: 1000, per: 'minute' }],
  nullSender: [{ limit: 500, per: 'hour' }],
} as const;

export const storeSchema = z
  .strictObject({
    kind: z.enum(['embedded', 'redis']).default('embedded'),
    path: z.string().min(1).default('./data/store'),
    url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
    cluster: z.array(z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL')).optional(),
    sentinel: z.strictObject({ name: z.string().min(1), urls: z.array(z.string().regex(/^redis:\/\//)).min(1) }).optional(),
    deadlineMs: z.number().int().min(10).max(2000).default(250),
    tenantRefreshMs: ms.default(5000),
    identityCheckMs: ms.default(1000),
    rateLimitFallback: z
      .strictObject({
        enabled: z.boolean().default(false),
        share: z.number().gt(0).max(1).default(1),
        retryStoreAfterMs: ms.default(5000),
      })
      .prefault({}),
  })
  .refine((s) => s.kind !== 'redis' || [s.url, s.cluster, s.sentinel].filter((x) => x !== undefined).length === 1, {
    message: 'a redis store needs exactly one of url, cluster or sentinel',
  })
  .prefault({});

const email = z.string().regex(/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/, 'must be an email address such as abuse@example.com');
const webhookUrl = z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL');

export const contactSchema = z
  .strictObject({ email: email.optional(), webhook: webhookUrl.optional() })
  .refine((c) => c.email !== undefined || c.webhook !== undefined, { message: 'give an email, a webhook, or both' });

const ratio = z.number().min(0).max(1);

export const tenantSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 characters: a-z, 0-9, - and _'),
  username: z.string().min(1).optional(),
  password: scryptHash.optional(),
  domains: z.array(domainName).min(1, 'a tenant needs at least one sender domain'),
  networks: z.array(cidr).default([]),
  limits: limitsRatesSchema.optional(),
  /** who hears about rate warnings and automatic suspensions on the tenant's side */
  abuseContact: contactSchema.optional(),
});

export const configSchema = z
  .strictObject({
    smtp: smtpSchema.prefault({}),
    upstream: upstreamSchema,
    store: storeSchema,
    keys: z
      .strictObject({
        masterKeyFile: z.string().min(1).default('./data/master.key'),
        generateMasterKey: z.boolean().default(true),
      })
      .prefault({}),
    limits: limitsRatesSchema.prefault({}),
    tenants: z.array(tenantSchema).default([]),
    feedback: z
      .strictObject({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(2526),
        maxMessageBytes: z.number().int().min(1024).max(MAX_REPORT_BYTES).default(MAX_REPORT_BYTES),
        rulesFile: z.string().min(1).optional(),
        messageIdLookbackDays: z.number().int().min(1).max(90).default(30),
        rates: z
          .strictObject({
            minVolume: z.number().int().min(1).default(1000),
            windowsHours: z.array(z.number().int().min(1).max(168)).min(1).default([24, 168]),
            complaints: z.strictObject({ warn: ratio.default(0.001), suspend: ratio.default(0.003) }).prefault({}),
            hardBounces: z.strictObject({ warn: ratio.default(0.05), suspend: ratio.default(0.1) }).prefault({}),
          })
          .refine((r) => r.complaints.warn <= r.complaints.suspend && r.hardBounces.warn <= r.hardBounces.suspend, {
            message: 'a warn threshold must not be above its suspend threshold',
          })
          .prefault({}),
      })
      .prefault({}),
    accounting: z
      .strictObject({
        /** files: JSON Lines segments under dir, one host; postgres: one database every replica shares, a journal under dir */
        kind: z.enum(['files', 'postgres']).default('files'),
        dir: z.string().min(1).default('./data/accounting'),
        postgres: z
          .strictObject({
            /** postgres://user@host:port/database; a password is better given in PGPASSWORD */
            url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
            maxConnections: z.number().int().min(1).max(100).default(4),
            /** records per batch shipped from the journal */
            batchRecords: z.number().int().min(1).max(50_000).default(5_000),
            /** how often the journal is looked at for records to ship */
            shipIntervalMs: z.number().int().min(10).max(60_000).default(200),
            /** a journal file is closed (and deleted once shipped) after this long */
            journalRotateMs: z.number().int().min(100).max(3_600_000).default(5_000),
            /** a connection attempt or statement that takes longer fails (and is tried again) */
            timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
            /** archived days are moved to this tablespace (cheaper or compressing storage); none: they stay in place */
            archiveTablespace: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a tablespace name: lower-case letters, digits and _').optional(),
          })
          .optional(),
        flushMs: z.number().int().min(10).max(1000).default(1000),
        maxBufferedRecords: z.number().int().min(100).default(100_000),
        minFreeBytes: z.number().int().min(0).default(512 * 1024 * 1024),
        retention: z
          .strictObject({
            activeDays: z.number().int().min(1).default(90),
            archiveDays: z.number().int().min(1).default(730),
          })
          .refine((r) => r.archiveDays >= r.activeDays, { message: 'archiveDays counts from the record\'s day too: it must not be less than activeDays' })
          .prefault({}),
      })
      .refine((a) => a.kind !== 'postgres' || a.postgres !== undefined, { message: 'kind postgres needs postgres.url', path: ['postgres'] })
      .prefault({}),
    admin: z
      .strictObject({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(8025),
        auditLog: z.string().min(1).default('./data/audit.log'),
        /** on a shared store (Redis): how many of all replicas' newest audit lines the trail the admin API reads keeps */
        sharedAuditEntries: z.number().int().min(1000).default(200_000),
      })
      .prefault({}),
    notifications: z
      .strictObject({
        /** the provider's abuse desk: hears about every warning and automatic suspension */
        abuseDesk: contactSchema.optional(),
        from: email.optional(),
        /** signs webhook bodies; MAILWARDEN_WEBHOOK_SECRET wins */
        webhookSecret: z.string().min(16, 'at least 16 characters').optional(),
        retryDelaysMs: z.array(ms).min(1).default([1_000, 10_000, 60_000, 300_000, 1_800_000]),
        timeoutMs: ms.default(10_000),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(9464),
        tenantLabelLimit: z.number().int().min(0).max(10_000).default(1000),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(LOG_LEVELS).default('info'),
        /** standard output: readable coloured lines (pretty), JSON Lines (json), or pretty on a terminal and JSON otherwise (auto) */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
        dir: z.string().min(1).optional(),
        retentionDays: z.number().int().min(1).default(90),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.tenants.forEach((tenant, i) => {
      if (seen.has(tenant.id)) {
        ctx.addIssue({ code: 'custom', path: ['tenants', i, 'id'], message: `duplicate tenant id "${tenant.id}"` });
      }
      seen.set(tenant.id, i);
      if ((tenant.username === undefined) !== (tenant.password === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['tenants', i], message: 'username and password go together' });
      }
      if (tenant.username === undefined && tenant.networks.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['tenants', i],
          message: 'a tenant needs a username and password, or networks it relays from',
        });
      }
    });
  });

export type Config = z.output<typeof configSchema>;
export type TenantConfig = z.output<typeof tenantSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type LimitsConfig = z.output<typeof limitsSchema>;
export type RatesConfig = z.output<typeof limitsRatesSchema>;
export type StoreConfig = z.output<typeof storeSchema>;
