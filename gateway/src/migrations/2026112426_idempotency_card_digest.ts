import { sql, type Kysely } from 'kysely';

// Idempotency rows stored until now hold an HMAC, under a key this host holds, of the whole
// request body: card number and CVV included, recoverable by guessing (SP-16, PCI DSS 3.3.1,
// 3.5.1.1). From this release the digest covers the vault's fingerprint instead. The old rows are
// deleted rather than kept to their end: they live 24 hours anyway, and a retry that finds its
// key gone starts the payment afresh, as it would after those 24 hours.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`delete from gateway.idempotency_keys`.execute(db);
}

// The deleted digests cannot come back, and the new ones are as good to the old code: nothing to undo.
export async function down(): Promise<void> {}
