// API tokens for the admin API: create (the token is printed once, only its hash is kept),
// list, revoke.
import { userInfo } from 'node:os';
import type { Config } from '../config/schema.js';
import type { Role } from '../admin/schemas.js';
import { newToken, tokenExpiry } from '../admin/tokens.js';
import { tokenJson } from '../admin/views.js';
import { audited, UsageError, withService, type Io } from './policy-commands.js';

export async function tokenCreate(config: Config, o: { role: Role; tenant?: string; name?: string; expires?: string }, io: Io): Promise<number> {
  const { role } = o;
  if ((role === 'tenant') !== (o.tenant !== undefined)) throw new UsageError('--tenant T goes with --role tenant, and only with it');
  // a token that is forgotten should not work forever: 90 days unless said otherwise
  const expiresAt = tokenExpiry(o.expires, Date.now());
  if (expiresAt === null) throw new UsageError(`--expires: "${o.expires}" is not a number of days such as 90d, or never`);
  return withService(config, async (_svc, store) => {
    if (o.tenant !== undefined && !(await store.getTenant(o.tenant))) throw new UsageError(`no tenant "${o.tenant}"`);
    const { record, token: secret } = newToken({
      role,
      ...(o.tenant ? { tenant: o.tenant } : {}),
      ...(o.name ? { name: o.name } : {}),
      createdAt: Date.now(),
      createdBy: process.env.MAILWARDEN_ACTOR ?? userInfo().username,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    });
    await audited(config, { action: 'token.create', ...(record.tenant ? { tenant: record.tenant } : {}) }, () => store.putApiToken(record), () => ({ token: record.id, role }));
    io.err(`token ${record.id} (${role}${record.tenant ? ` of ${record.tenant}` : ''}${expiresAt ? `, expires ${new Date(expiresAt).toISOString()}` : ''}); it is shown only now:`);
    io.out(secret);
    return 0;
  });
}

export async function tokenList(config: Config, o: { json?: boolean }, io: Io): Promise<number> {
  const tokens = (await withService(config, (_svc, store) => store.listApiTokens())).sort((a, b) => a.createdAt - b.createdAt);
  if (o.json) {
    // JSON Lines, one token a line, as the admin API lists them; never the secret's hash
    for (const t of tokens) io.out(JSON.stringify(tokenJson(t)));
    return 0;
  }
  for (const t of tokens) {
    const state = t.revokedAt ? `revoked ${new Date(t.revokedAt).toISOString()}` : t.expiresAt && t.expiresAt <= Date.now() ? 'expired' : t.expiresAt ? `expires ${new Date(t.expiresAt).toISOString()}` : 'no expiry';
    io.out(`${t.id}  ${t.role}${t.tenant ? ` ${t.tenant}` : ''}  ${t.name ?? ''}  created ${new Date(t.createdAt).toISOString()} by ${t.createdBy}  ${state}`);
  }
  if (tokens.length === 0) io.out('no tokens');
  return 0;
}

export function tokenRevoke(config: Config, id: string, io: Io): Promise<number> {
  return withService(config, async (_svc, store) => {
    const t = await store.getApiToken(id);
    if (!t) throw new UsageError(`no token ${id}`);
    if (!t.revokedAt) await audited(config, { action: 'token.revoke', ...(t.tenant ? { tenant: t.tenant } : {}) }, () => store.putApiToken({ ...t, revokedAt: Date.now() }), () => ({ token: id }));
    io.out(`token ${id} revoked`);
    return 0;
  });
}
