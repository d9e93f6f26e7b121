// k6: honest logins and profile reads, with a flood of wrong passwords beside them (SP-11): the
// flood must be refused (401, 423 once a phone locks, 429 past the per-address ceiling) and the
// honest traffic must keep its latency. setup() registers the honest clients.
//   SSL_CERT_FILE=.data/pki/ca.crt k6 run -e PKI_DIR=$PWD/.data/pki loadtest/login.js
import { check } from 'k6';
import { Rate } from 'k6/metrics';
import { api, login, num, randomPhone, setupClients, summary, thresholds, tlsOptions } from './lib/gateway.js';

const attackRefused = new Rate('attack_refused');

export const options = {
  ...tlsOptions(),
  scenarios: {
    honest: {
      executor: 'constant-arrival-rate', exec: 'honest',
      rate: num('RATE', 20), timeUnit: '1s', duration: __ENV.DURATION || '1m',
      preAllocatedVUs: num('VUS', 10), maxVUs: num('MAX_VUS', 40),
    },
    attacker: {
      executor: 'ramping-arrival-rate', exec: 'attacker',
      startRate: 0, timeUnit: '1s',
      stages: [{ target: num('ATTACK_RATE', 50), duration: __ENV.RAMP || '10s' }, { target: num('ATTACK_RATE', 50), duration: __ENV.DURATION || '1m' }],
      preAllocatedVUs: num('VUS', 10), maxVUs: num('MAX_VUS', 40),
    },
  },
  thresholds: {
    ...thresholds('honest', 250, 500),
    attack_refused: ['rate==1'],
    'http_req_failed{scenario:attacker}': ['rate==0'],
  },
};

/** @returns {{ clients: import('./lib/gateway.js').Client[] }} */
export function setup() {
  return { clients: setupClients(num('CLIENTS', 10), false) };
}

/** @param {{ clients: import('./lib/gateway.js').Client[] }} data */
export function honest(data) {
  const c = data.clients[Math.floor(Math.random() * data.clients.length)];
  const token = login(c.phone, c.password);
  if (!token) return;
  check(api('GET', '/v1/me', null, { token }), { 'profile read (200)': (r) => r.status === 200 });
}

export function attacker() {
  const r = api('POST', '/v1/sessions', { phone: randomPhone(), password: 'wrong-password-1' }, { name: 'POST /v1/sessions (wrong password)', expected: [401, 423, 429] });
  attackRefused.add(check(r, { 'wrong password refused': (res) => [401, 423, 429].includes(res.status) }));
}

export const handleSummary = summary;
