// API tokens for the admin API: create (the token is printed once, only its hash is kept),
// list, revoke.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import { ROLES, type Role } from '../admin/schemas.js';
import { newToken, tokenExpiry } from '../admin/tokens.js';
import { tokenJson } from '../admin/views.js';
import { audited, UsageError, withService, type Io } from './policy-commands.js';


export async function token(config: Config, args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create': {
      const { values } = parseArgs({ args: rest, options: { role: { type: 'string' }, tenant: { type: 'string' }, name: { type: 'string' }, expires: { type: 'string' } } });
      const role = values.role as Role | undefined;
      if (!role || !ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      if ((role === 'tenant') !== (values.tenant !== undefined)) throw new UsageError('--tenant T goes with --role tenant, and only with it');
      // a token that is forgotten should not work forever: 90 days unless said otherwise
      const expiresAt = tokenExpiry(values.expires, Date.now());
      if (expiresAt === null) throw new UsageError(`--expires: "${values.expires}" is not a number of days such as 90d, or never`);
      return withService(config, async (_svc, store) => {
        if (values.tenant !== undefined && !(await store.getTenant(values.tenant))) throw new UsageError(`no tenant "${values.tenant}"`);
        const { record, token: secret } = newToken({
          role,
          ...(values.tenant ? { tenant: values.tenant } : {}),
          ...(values.name ? { name: values.name } : {}),
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
    case 'list': {
      const { values } = parseArgs({ args: rest.slice(0), options: { json: { type: 'boolean' } } });
      const tokens = await withService(config, (_svc, store) => store.listApiTokens());
      if (values.json) {
        // JSON Lines, one token a line, as the admin API lists them; never the secret's hash
        for (const t of tokens.sort((a, b) => a.createdAt - b.createdAt)) io.out(JSON.stringify(tokenJson(t)));
        return 0;
      }
      for (const t of tokens.sort((a, b) => a.createdAt - b.createdAt)) {
        const state = t.revokedAt ? `revoked ${new Date(t.revokedAt).toISOString()}` : t.expiresAt && t.expiresAt <= Date.now() ? 'expired' : t.expiresAt ? `expires ${new Date(t.expiresAt).toISOString()}` : 'no expiry';
        io.out(`${t.id}  ${t.role}${t.tenant ? ` ${t.tenant}` : ''}  ${t.name ?? ''}  created ${new Date(t.createdAt).toISOString()} by ${t.createdBy}  ${state}`);
      }
      if (tokens.length === 0) io.out('no tokens');
      return 0;
    }
    case 'revoke': {
      const id = rest[0];
      if (!id) throw new UsageError('token revoke ID');
      return withService(config, async (_svc, store) => {
        const t = await store.getApiToken(id);
        if (!t) throw new UsageError(`no token ${id}`);
        if (!t.revokedAt) await audited(config, { action: 'token.revoke', ...(t.tenant ? { tenant: t.tenant } : {}) }, () => store.putApiToken({ ...t, revokedAt: Date.now() }), () => ({ token: id }));
        io.out(`token ${id} revoked`);
        return 0;
      });
    }
    default:
      throw new UsageError('token create|list|revoke ...');
  }
}
