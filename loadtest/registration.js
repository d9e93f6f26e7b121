// k6: registrations (SP-5: verification SMS, code, registration with an Argon2id password hash)
// at a constant arrival rate. Codes come from the sandbox-only staff endpoint (lib/gateway.js).
//   SSL_CERT_FILE=.data/pki/ca.crt k6 run -e PKI_DIR=$PWD/.data/pki -e RATE=5 loadtest/registration.js
import { Counter } from 'k6/metrics';
import { num, randomPhone, register, summary, thresholds, tlsOptions } from './lib/gateway.js';

const registrations = new Counter('registrations');

export const options = {
  ...tlsOptions(),
  scenarios: {
    registration: {
      executor: 'constant-arrival-rate', exec: 'registration',
      rate: num('RATE', 5), timeUnit: '1s', duration: __ENV.DURATION || '1m',
      preAllocatedVUs: num('VUS', 10), maxVUs: num('MAX_VUS', 40),
    },
  },
  thresholds: { ...thresholds('registration', 300, 800), registrations: ['count>0'] },
};

export function registration() {
  if (register(randomPhone(), `Load-${Math.random().toString(36).slice(2, 10)}-42`)) registrations.add(1);
}

export const handleSummary = summary;
