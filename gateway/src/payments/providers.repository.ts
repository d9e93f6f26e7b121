// SQL for the provider catalog (SP-14).
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';

export async function listProviders(db: Kysely<GatewayDatabase>) {
  return db.selectFrom('gateway.providers').selectAll().where('active', '=', true).orderBy('category').orderBy('name').execute();
}

export async function findProvider(db: Kysely<GatewayDatabase>, id: string) {
  return db.selectFrom('gateway.providers').selectAll().where('id', '=', id).where('active', '=', true).executeTakeFirst();
}
