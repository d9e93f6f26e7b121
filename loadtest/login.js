// k6: login and profile reads for seeded clients, with a side stream of wrong passwords that
// must be locked out (SP-11) without slowing the honest traffic.
//   npx tsx loadtest/seed-clients.ts 200
//   k6 run --insecure-skip-tls-verify loadtest/login.js      (or trust .data/pki/ca.crt)
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL || 'https://localhost:8443';
const clients = JSON.parse(open(__ENV.CLIENTS_FILE || '../.data/loadtest/clients.json'));
const json = { headers: { 'content-type': 'application/json' } };

export const options = {
  scenarios: {
    honest: { executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '1m', preAllocatedVUs: 50, exec: 'honest' },
    attacker: { executor: 'constant-arrival-rate', rate: 100, timeUnit: '1s', duration: '1m', preAllocatedVUs: 50, exec: 'attacker' },
  },
  thresholds: {
    'http_req_duration{scenario:honest}': ['p(99)<150'],
    'checks{scenario:honest}': ['rate>0.99'],
    'checks{scenario:attacker}': ['rate==1'],
  },
};

export function honest() {
  const c = clients[Math.floor(Math.random() * clients.length)];
  const login = http.post(`${BASE}/v1/sessions`, JSON.stringify({ phone: c.phone, password: c.password }), json);
  if (!check(login, { 'login 201': (r) => r.status === 201 })) return;
  const me = http.get(`${BASE}/v1/me`, { headers: { authorization: `Bearer ${login.json('token')}` } });
  check(me, { 'me 200': (r) => r.status === 200 });
}

export function attacker() {
  const phone = `+7701${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const r = http.post(`${BASE}/v1/sessions`, JSON.stringify({ phone, password: 'wrong-password-1' }), json);
  check(r, { 'wrong password refused': (res) => [401, 423, 429].includes(res.status) });
}
