-- Database roles for a deployment (SP-4, SP-16, SP-21). Run once as a superuser, then run the
-- migrations as each schema's owner (`npm run migrate -- gateway|vault|audit`). Replace the
-- passwords with secrets from the bank's vault; PostgreSQL must use scram-sha-256, not trust.
create role pgw_gateway login password 'CHANGE-ME';
create role pgw_vault login password 'CHANGE-ME';
create role pgw_audit_owner login password 'CHANGE-ME';

-- Each process owns only its schema: the gateway cannot read the vault's ciphertexts, the vault
-- cannot read clients, and neither can change the audit store.
create schema if not exists gateway authorization pgw_gateway;
create schema if not exists vault authorization pgw_vault;
create schema if not exists audit authorization pgw_audit_owner;
revoke all on schema vault from public;
revoke all on schema gateway from public;
revoke all on schema audit from public;
-- The audit migrations create the insert-only writer and retention roles and their grants;
-- grant them to the worker's login role afterwards (see audit-worker/README or deploy/README.md).
