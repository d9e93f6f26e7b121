// The client's own settings: today the language of its SMS texts (issue 16), set at registration
// from the verification and changed here; the change and the language it replaced are audited.
import { sql } from 'kysely';
import { recordAudit, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import type { SmsLanguage } from './sms-texts.js';

export async function setClientLanguage(ctx: GatewayContext, origin: RequestOrigin, clientId: string, language: SmsLanguage) {
  return ctx.db.transaction().execute(async (trx) => {
    // One statement: the row as it is after the change, and the language it had before.
    const row = await trx.updateTable('gateway.clients as c').set({ language })
      .from(sql<{ language: SmsLanguage }>`(select language from gateway.clients where id = ${clientId} for update)`.as('before'))
      .where('c.id', '=', clientId)
      .returning(['c.id', 'c.phone', 'c.name', sql<string>`c.birth_date::text`.as('birth_date'), 'c.language', 'c.created_at', sql<SmsLanguage>`before.language`.as('previous')])
      .executeTakeFirst();
    if (!row) throw new DomainError('unauthorized', 'the session is missing, expired or revoked');
    await recordAudit(trx, ctx.clock, origin, {
      actor: { type: 'client', id: clientId }, action: 'profile.updated', outcome: 'success',
      targets: { clientId }, details: { language: row.language, previous: row.previous },
    });
    return row;
  });
}
