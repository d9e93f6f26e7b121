// Lazily built request loggers: a request that logs nothing builds no pino child; one that logs
// writes the same line an ordinary child would — request id bound, card fields redacted.
import t from 'tap';
import { createLogger } from '../../lib/logger.js';
import { lazyChildLoggerFactory } from '../src/request-logger.js';

function capture(level: string) {
  const lines: any[] = [];
  const log = createLogger('vault', level, { write: (line: string) => { lines.push(JSON.parse(line)); } });
  return { log, lines };
}

t.test('nothing is built or written below the level; an enabled call writes an ordinary child line', async (t) => {
  const { log, lines } = capture('warn');
  let children = 0;
  const child = log.child.bind(log);
  log.child = ((...args: Parameters<typeof log.child>) => { children++; return child(...args); }) as typeof log.child;
  const reqLog = lazyChildLoggerFactory(log, { reqId: 'req-1' }, {});
  reqLog.info('incoming request');
  reqLog.debug({ pan: '4400430000000007' }, 'details');
  t.equal(children, 0, 'no child for calls below the level');
  t.equal(lines.length, 0);
  reqLog.error({ pan: '4400430000000007', cvv: '123' }, 'vault internal error');
  reqLog.warn('again');
  t.equal(children, 1, 'one child, built on the first enabled call');
  t.match(lines, [
    { level: 50, reqId: 'req-1', component: 'vault', pan: '[REDACTED]', cvv: '[REDACTED]', msg: 'vault internal error' },
    { level: 40, reqId: 'req-1', msg: 'again' },
  ]);
  t.equal(reqLog.level, 'warn');
});

t.test('a child of the request logger keeps the request id', async (t) => {
  const { log, lines } = capture('info');
  lazyChildLoggerFactory(log, { reqId: 'req-2' }, {}).child({ part: 'db' }).info('x');
  t.match(lines, [{ reqId: 'req-2', part: 'db', msg: 'x' }]);
});

t.test('a level set on the request logger is the level it reports and logs at', async (t) => {
  const { log, lines } = capture('warn');
  const reqLog = lazyChildLoggerFactory(log, { reqId: 'req-3' }, {});
  reqLog.level = 'debug';
  t.equal(reqLog.level, 'debug');
  t.equal(log.level, 'warn', 'the parent keeps its own level');
  reqLog.debug('now visible');
  t.match(lines, [{ level: 20, reqId: 'req-3', msg: 'now visible' }]);
});
