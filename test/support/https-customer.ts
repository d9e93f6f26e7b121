// A customer of a started gateway, driven over HTTPS through the typed client the way the hosted
// checkout page drives the public API: verify the phone with its SMS code, register, log in, pay a
// checkout session and confirm it with the payment's SMS code. Codes come from the sandbox staff
// route (`GET /v1/sandbox/sms-codes/latest`), which reads the outbox the gateway process writes.
import type { GatewayClient } from '../../gateway/openapi/client.js';
import type { AdminClient } from './admin.js';
import { randomKzPhone } from './clients.js';

export interface HttpsCustomer {
  phone: string;
  /** The public API with this customer's session token. */
  api: GatewayClient;
}

/** The newest SMS code sent to `phone`, as staff read it in the sandbox. */
export async function sandboxSmsCode(staff: AdminClient, phone: string): Promise<string> {
  const res = await staff.call('GET', `/v1/sandbox/sms-codes/latest?phone=${encodeURIComponent(phone)}`);
  if (res.status !== 200) throw new Error(`no SMS code for ${phone}: ${res.status} ${res.text}`);
  return res.json().code;
}

function ok<T>(what: string, r: { data?: T; response: Response }): T {
  if (!r.data) throw new Error(`${what}: ${r.response.status}`);
  return r.data;
}

export async function registerHttpsCustomer(publicApi: GatewayClient, staff: AdminClient): Promise<HttpsCustomer> {
  const phone = randomKzPhone();
  const password = 'Steppe-Wind-42';
  const started = ok('verification', await publicApi.POST('/v1/verifications', { body: { phone, purpose: 'verification' } }));
  const code = await sandboxSmsCode(staff, phone);
  const { verificationToken } = ok('confirmation', await publicApi.POST('/v1/verifications/{id}/confirm', { params: { path: { id: started.verificationId } }, body: { code } }));
  ok('registration', await publicApi.POST('/v1/registrations', { body: { verificationToken, name: 'Aigerim Test', birthDate: '1990-05-17', password } }));
  const { token } = ok('login', await publicApi.POST('/v1/sessions', { body: { phone, password } }));
  // The pages log in with a cookie instead; an API caller gets the token in the body.
  if (!token) throw new Error('login answered no token');
  return { phone, api: publicApi.withToken(token) };
}

/** Pays the session with an entered card and confirms with the SMS code; the payment as confirmed. */
export async function payCheckoutSession(customer: HttpsCustomer, staff: AdminClient, sessionId: string, number: string) {
  const card = { number, expMonth: 12, expYear: 2030, cvv: '123' };
  const started = ok('pay', await customer.api.POST('/v1/checkout/sessions/{id}/pay', { params: { path: { id: sessionId } }, body: { card } }));
  const code = await sandboxSmsCode(staff, customer.phone);
  return ok('confirm', await customer.api.POST('/v1/payments/{id}/confirm', { params: { path: { id: started.id } }, body: { code } }));
}
