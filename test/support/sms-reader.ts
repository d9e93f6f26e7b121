// Follows a development SMS outbox file (one JSON line per SMS) as a phone would, for load
// generators that cannot afford to re-read the whole file per code.
import { openSync, readSync } from 'node:fs';

/** Follows the SMS outbox file and keeps the newest code per phone. */
export function smsReader(file: string) {
  const codes = new Map<string, string>();
  let offset = 0;
  let rest = '';
  let fd: number | undefined;
  const buffer = Buffer.alloc(1 << 20);
  return {
    code(phone: string): string | undefined {
      fd ??= openSync(file, 'r');
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, offset);
        if (n === 0) break;
        offset += n;
        const lines = (rest + buffer.subarray(0, n).toString('utf8')).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          const m = JSON.parse(line) as { to: string; text: string };
          codes.set(m.to, m.text.match(/\b\d{6}\b/)![0]);
        }
      }
      const c = codes.get(phone);
      codes.delete(phone);
      return c;
    },
  };
}
