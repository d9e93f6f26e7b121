// Sandbox only: the newest SMS code sent to a phone, read from the development SMS outbox, so a
// load generator (loadtest/*.js) can register, verify and confirm payments as a phone would.
// Registered only when the gateway is not in production AND its SMS provider is the outbox
// (adminApp decides); anywhere else the route does not exist and answers 404. It sits on the
// staff listener, so only an allow-listed staff certificate reaches it, and each read is audited
// with the phone as target like every staff action (SP-21).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { originOf, recordAudit } from '../audit/record.js';
import { DomainError, Problem } from '../errors.js';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';

interface LatestCode { code: string; sentAt: string }

/**
 * Follows the outbox file from where it last stopped, so a read under load costs the new lines
 * only, and keeps the newest code per phone. A file that shrank (deleted, recreated) is read again.
 */
export function outboxFollower(file: string) {
  const latest = new Map<string, LatestCode>();
  const buffer = Buffer.alloc(1 << 16);
  let offset = 0;
  let rest = '';
  return {
    latest(phone: string): LatestCode | undefined {
      let fd: number;
      try {
        fd = openSync(file, 'r');
      } catch {
        return undefined;
      }
      try {
        if (fstatSync(fd).size < offset) {
          latest.clear();
          offset = 0;
          rest = '';
        }
        for (;;) {
          const n = readSync(fd, buffer, 0, buffer.length, offset);
          if (n === 0) break;
          offset += n;
          const lines = (rest + buffer.subarray(0, n).toString('utf8')).split('\n');
          rest = lines.pop()!;
          for (const line of lines) {
            try {
              const sms = JSON.parse(line) as { to?: unknown; text?: unknown; sentAt?: unknown };
              const code = typeof sms.text === 'string' ? /\b(\d{6})\b/.exec(sms.text)?.[1] : undefined;
              if (typeof sms.to === 'string' && code) latest.set(sms.to, { code, sentAt: String(sms.sentAt ?? '') });
            } catch {
              // a line that is not JSON is not a message
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return latest.get(phone);
    },
  };
}

const Query = Type.Object({ phone: Type.String({ pattern: '^\\+7\\d{10}$' }) }, { additionalProperties: false });
const Latest = Type.Object({ phone: Type.String(), code: Type.String(), sentAt: Type.String() });

const sandboxSmsRoutes: FastifyPluginAsyncTypebox<{ outboxFile: string }> = async (app, opts) => {
  app.setValidatorCompiler(strictValidatorCompiler);
  const outbox = outboxFollower(opts.outboxFile);
  app.get('/v1/sandbox/sms-codes/latest', {
    config: { audit: { action: 'sandbox.sms_code_read' } },
    schema: { querystring: Query, response: { 200: Latest, '4xx': Problem, '5xx': Problem } },
  }, async (request) => {
    const { ctx } = app;
    const { phone } = request.query;
    const found = outbox.latest(phone);
    await recordAudit(ctx.db, ctx.clock, originOf(request), {
      actor: { type: 'staff', id: request.staffIdentity },
      action: 'sandbox.sms_code_read',
      outcome: found ? 'success' : 'refused',
      targets: { phone },
      details: found ? { status: 200 } : { status: 404, reason: 'not_found' },
    });
    if (!found) throw new DomainError('not_found', 'no SMS was sent to this phone');
    return { phone, ...found };
  });
};

export default sandboxSmsRoutes;
