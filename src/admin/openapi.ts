// The OpenAPI 3.1 description of the admin API, served at /api/v1/openapi.json. Schemas
// come from the same zod definitions the handlers and the CLI validate with.
import { z } from 'zod';
import { apiSchemas } from './schemas.js';

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const errors = {
  '400': { description: 'Invalid input; nothing was changed. problems names each field.', ...json(ref('Error')) },
  '401': { description: 'Missing, invalid, revoked or expired token.', ...json(ref('Error')) },
  '403': { description: 'The token\'s role may not do this.', ...json(ref('Error')) },
  '404': { description: 'No such tenant or resource (also: another tenant\'s, for a tenant token).', ...json(ref('Error')) },
  '503': { description: 'The store did not answer; nothing was changed.', ...json(ref('Error')) },
};
const tenantParam = { name: 'tenant', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' } };

export function openApiDocument(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(apiSchemas, { io: 'input', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, Record<string, unknown>> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'mailwarden admin API',
      version: '1',
      description:
        'Tenants, suspensions with their evidence, suppression lists and feedback reports. Bearer tokens (`mailwarden token create`) carry a role: operator and abuse-desk may do everything here; a tenant token sees and changes only its own tenant\'s suppression list and reads its own tenant and suspensions. Every request is written to the audit log.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas },
    paths: {
      '/tenants': {
        get: {
          summary: 'Tenants with their volumes and rates (a tenant token: its own), by id, a page at a time',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 1000 } },
            { name: 'after', in: 'query', description: 'the next cursor of the page before', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { tenants: { type: 'array', items: ref('Tenant') }, next: { type: ['string', 'null'] } } }) }, ...errors },
        },
        post: {
          summary: 'A new tenant (operator), as the configuration\'s tenants are written, without a password: a tenant with a username gets one made by the relay, shown once in the answer',
          requestBody: { required: true, ...json({ type: 'object', required: ['id', 'domains'], properties: { id: { type: 'string' }, username: { type: 'string' }, domains: { type: 'array', items: { type: 'string' } }, networks: { type: 'array', items: { type: 'string' } }, limits: { type: 'object' }, abuseContact: { type: 'object' } } }) },
          responses: { '201': { description: 'the tenant, and its password when it logs in', ...json({ type: 'object' }) }, ...errors },
        },
      },
      '/tokens': {
        get: { summary: 'API tokens (operator): id, role, tenant, name, times; never a secret', responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { tokens: { type: 'array', items: { type: 'object' } } } }) }, ...errors } },
        post: {
          summary: 'A new API token (operator), shown once; 90 days unless expires says otherwise',
          requestBody: { required: true, ...json(ref('TokenCreateRequest')) },
          responses: { '201': { description: 'the token', ...json({ type: 'object' }) }, ...errors },
        },
      },
      '/tokens/{id}/revoke': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{10}$' } }],
        post: { summary: 'Revoke a token (operator)', responses: { '200': { description: 'the token, revoked', ...json({ type: 'object' }) }, ...errors } },
      },
      '/tenants/{tenant}': {
        parameters: [tenantParam],
        get: { summary: 'One tenant with its volumes and rates', responses: { '200': { description: 'ok', ...json(ref('Tenant')) }, ...errors } },
        patch: {
          summary: 'Change a tenant\'s sender domains, networks, rate limits or abuse contact (operator); the relay takes them up at once',
          requestBody: { required: true, ...json({ type: 'object', properties: { domains: { type: 'array', items: { type: 'string' } }, networks: { type: 'array', items: { type: 'string' } }, limits: { type: 'object' }, abuseContact: { type: 'object' } } }) },
          responses: { '200': { description: 'the tenant', ...json(ref('Tenant')) }, ...errors },
        },
      },
      '/tenants/{tenant}/suspensions': {
        parameters: [tenantParam],
        get: {
          summary: 'Active suspensions with their evidence; all=true adds lifted and expired ones',
          parameters: [{ name: 'all', in: 'query', schema: { type: 'boolean' } }],
          responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { suspensions: { type: 'array', items: ref('Suspension') } } }) }, ...errors },
        },
        post: { summary: 'Suspend the tenant, a sender domain or a sender address (operator, abuse-desk)', requestBody: { required: true, ...json(ref('SuspendRequest')) }, responses: { '201': { description: 'created', ...json(ref('Suspension')) }, ...errors } },
      },
      '/tenants/{tenant}/suspensions/{id}/lift': {
        parameters: [tenantParam, { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^S[0-9A-F]{10}$' } }],
        post: { summary: 'Lift a suspension; a reason is required (operator, abuse-desk)', requestBody: { required: true, ...json(ref('LiftRequest')) }, responses: { '200': { description: 'lifted', ...json(ref('Suspension')) }, ...errors } },
      },
      '/tenants/{tenant}/suppressions': {
        parameters: [tenantParam],
        get: {
          summary: 'Suppression entries by pseudonym, never with addresses',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 } },
            { name: 'after', in: 'query', schema: { type: 'string' }, description: 'the `next` of the previous page' },
          ],
          responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { entries: { type: 'array', items: ref('SuppressionEntry') }, next: { type: ['string', 'null'] } } }) }, ...errors },
        },
        post: { summary: 'Add entries: all of them or, on any bad entry, none', requestBody: { required: true, ...json(ref('SuppressRequest')) }, responses: { '201': { description: 'added', ...json({ type: 'object', properties: { added: { type: 'integer' } } }) }, ...errors } },
      },
      '/tenants/{tenant}/suppressions/remove': {
        parameters: [tenantParam],
        post: { summary: 'Remove one address (in the body, never in a URL)', requestBody: { required: true, ...json(ref('UnsuppressRequest')) }, responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { removed: { type: 'boolean' } } }) }, ...errors } },
      },
      '/tenants/{tenant}/suppressions/lookup': {
        parameters: [tenantParam],
        post: {
          summary: 'Whether one address (in the body, never in a URL) is on the tenant\'s suppression list: reason, source, since, expiry; an address that is not answers only that',
          requestBody: { required: true, ...json(ref('SuppressionLookupRequest')) },
          responses: {
            '200': {
              description: 'the answer',
              ...json({ type: 'object', required: ['suppressed'], properties: { suppressed: { type: 'boolean' }, reason: { type: 'string' }, source: { type: 'string' }, since: { type: 'string', format: 'date-time' }, expiresAt: { type: 'string', format: 'date-time' } } }),
            },
            ...errors,
          },
        },
      },
      '/tenants/{tenant}/accounting/query': {
        parameters: [tenantParam],
        post: {
          summary: 'The tenant\'s accounting records, oldest first, a page at a time (the same query as `mailwarden accounting query`): JSON, or PowerMTA-style CSV',
          requestBody: { required: true, ...json(ref('AccountingQueryRequest')) },
          responses: {
            '200': {
              description: 'a page; `next` (or the Mailwarden-Next-Cursor header with csv) is the cursor of the next page, null on the last',
              content: {
                'application/json': { schema: { type: 'object', properties: { records: { type: 'array', items: { type: 'object' } }, next: { type: ['string', 'null'] } } } },
                'text/csv': { schema: { type: 'string' } },
              },
            },
            ...errors,
          },
        },
      },
      '/tenants/{tenant}/feedback': {
        parameters: [tenantParam],
        get: {
          summary: 'The tenant\'s complaint and bounce reports, newest first; a tenant token sees what each says about its mail, without the provider\'s notes',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
            { name: 'before', in: 'query', description: 'the next cursor of the page before', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { reports: { type: 'array', items: { type: 'object' } } } }) }, ...errors },
        },
      },
      '/tenants/{tenant}/feedback/{report}': {
        parameters: [tenantParam, { name: 'report', in: 'path', required: true, schema: { type: 'string', pattern: '^F[0-9A-Z]{4,40}$' } }],
        get: {
          summary: 'One of the tenant\'s reports: what it says (never the report itself, which names recipients); a tenant token sees it without the provider\'s notes',
          responses: { '200': { description: 'ok', ...json({ type: 'object' }) }, ...errors },
        },
      },
      '/tenants/{tenant}/rates': {
        parameters: [tenantParam],
        get: {
          summary: 'The tenant\'s (or one sender domain\'s) rolling 24 h complaint and hard-bounce rates every 6 hours over the last days, with the warn and suspend thresholds',
          parameters: [
            { name: 'days', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 7, default: 7 } },
            { name: 'domain', in: 'query', description: 'one of the tenant\'s sender domains', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { thresholds: { type: 'object' }, minVolume: { type: 'integer' }, points: { type: 'array', items: { type: 'object' } } } }) }, ...errors },
        },
      },
      '/tenants/{tenant}/password/rotate': {
        parameters: [tenantParam],
        post: {
          summary: 'A new SMTP password for the tenant\'s login, made by the relay and shown once in the answer (kept only as its scrypt hash); the old one stops working at once on this relay, at the next tenant refresh on the others',
          responses: { '200': { description: 'the login and its new password', ...json({ type: 'object', properties: { username: { type: 'string' }, password: { type: 'string' } } }) }, ...errors },
        },
      },
      '/tenants/{tenant}/suppressions/export': {
        parameters: [tenantParam],
        get: { summary: 'The list with addresses, as CSV: address,reason,source,created_at,expires_at,pseudonym', responses: { '200': { description: 'ok', content: { 'text/csv': { schema: { type: 'string' } } } }, ...errors } },
      },
      '/tenants/{tenant}/subjects/export': {
        parameters: [tenantParam],
        post: { summary: 'Everything about one address of the tenant: its accounting records and suppression entry (a data-subject access request)', requestBody: { required: true, ...json(ref('SubjectRequest')) }, responses: { '200': { description: 'the export document', ...json({ type: 'object' }) }, ...errors } },
      },
      '/tenants/{tenant}/subjects/erase': {
        parameters: [tenantParam],
        post: {
          summary: 'Erase one address: its records go from every segment, active and archived; a suppression entry stays as a bare pseudonym so the address stays suppressed',
          requestBody: { required: true, ...json(ref('SubjectRequest')) },
          responses: { '200': { description: 'erased', ...json({ type: 'object', properties: { segmentsRewritten: { type: 'integer' }, recordsRemoved: { type: 'integer' }, reportsErased: { type: 'integer' }, stillSuppressed: { type: 'boolean' } } }) }, ...errors },
        },
      },
      '/tenants/{tenant}/offboard': {
        parameters: [tenantParam],
        post: {
          summary: 'End of contract (operator): return all of the tenant\'s data to a directory on the relay\'s host, delete it everywhere with the tenant\'s key, and answer with the deletion certificate',
          requestBody: { required: true, ...json(ref('OffboardRequest')) },
          responses: { '200': { description: 'the deletion certificate', ...json({ type: 'object' }) }, ...errors },
        },
      },
      '/session': {
        get: {
          summary: 'Who this token is: its id, role, tenant (for a tenant token), name and expiry',
          responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { token: { type: 'string' }, role: { type: 'string' }, tenant: { type: 'string' }, name: { type: 'string' }, expiresAt: { type: ['string', 'null'] } } }) }, ...errors },
        },
      },
      '/audit': {
        get: {
          summary: 'The audit trail of this relay (every API request and changing CLI command), newest first, filtered by tenant, actor and action, a page at a time',
          parameters: [
            { name: 'tenant', in: 'query', schema: { type: 'string' } },
            { name: 'actor', in: 'query', schema: { type: 'string' } },
            { name: 'action', in: 'query', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
            { name: 'before', in: 'query', description: 'the next cursor of the page before', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { entries: { type: 'array', items: { type: 'object' } }, next: { type: ['string', 'null'] } } }) }, ...errors },
        },
      },
      '/tokens/rotate': {
        post: {
          summary: 'Replace the token that asks: a new one of the same role, tenant, name and lifetime, shown once; the asking token is revoked',
          responses: { '201': { description: 'the new token', ...json({ type: 'object', properties: { id: { type: 'string' }, token: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } } }) }, ...errors },
        },
      },
      '/feedback': {
        post: {
          summary: 'Take in one raw complaint (ARF) or bounce (DSN) report (operator, abuse-desk)',
          requestBody: { required: true, content: { 'message/rfc822': { schema: { type: 'string' } } } },
          responses: { '200': { description: 'recorded, one record per tenant (or review queue) it concerns', ...json({ type: 'object', properties: { records: { type: 'array', items: ref('FeedbackRecord') } } }) }, '422': { description: 'not a report; nothing kept', ...json(ref('Error')) }, ...errors },
        },
        get: {
          summary: 'Recorded reports of one tenant, or of the review queue (operator, abuse-desk)',
          parameters: [
            { name: 'tenant', in: 'query', schema: { type: 'string' } },
            { name: 'review', in: 'query', schema: { type: 'boolean' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
            { name: 'before', in: 'query', description: 'the next cursor of the page before', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'ok, newest first', ...json({ type: 'object', properties: { reports: { type: 'array', items: ref('FeedbackRecord') } } }) }, ...errors },
        },
      },
    },
  };
}
