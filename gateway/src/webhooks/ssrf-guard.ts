// Which webhook URLs the gateway may call (design.md, "Merchant API and hosted checkout"). A URL is
// judged by the address its host RESOLVES to, not by how it is spelt, so `http://2130706433`,
// `[::ffff:127.0.0.1]` and a DNS name pointing at 10.x are all caught. The checked address is the
// one connected to (`guardedLookup` as undici's `connect.lookup`), so a second DNS answer cannot
// swap it (DNS rebinding).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { promisify } from 'node:util';
import ipaddr from 'ipaddr.js';

export type UrlRefusal = 'invalid_url' | 'https_required' | 'forbidden_address' | 'unresolvable_host';

export interface UrlPolicy {
  /** Test-mode keys may register http:// on loopback (design.md); live keys never. */
  livemode: boolean;
  /** Hosts exempt from the address check (WEBHOOK_ALLOWED_HOSTS): development and tests only. */
  allowedHosts: ReadonlySet<string>;
}

/** Only ordinary public unicast is reachable; everything else (private, loopback, link-local and so the
 * 169.254.169.254 metadata address, CGNAT, multicast, reserved, unique-local and so fd00:ec2::254, …). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() === 'unicast';
}

function isLoopback(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() === 'loopback';
}

export type Resolve = (host: string) => Promise<string[]>;

const lookupAll = promisify(dnsLookup);
export const systemResolve: Resolve = async (host) =>
  ((await lookupAll(host, { all: true, verbatim: true })) as LookupAddress[]).map((a) => a.address);

/** Whether the gateway may deliver to `address` for `hostname` under `policy`. */
function addressAllowed(hostname: string, address: string, protocol: string, policy: UrlPolicy): boolean {
  if (policy.allowedHosts.has(hostname)) return true;
  if (protocol === 'http:') return !policy.livemode && isLoopback(address);
  return isPublicAddress(address);
}

/** Refuses a URL the gateway must not call, or returns null. Every resolved address must pass. */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy, resolve: Resolve = systemResolve): Promise<UrlRefusal | null> {
  let url: URL;
  try { url = new URL(raw); } catch { return 'invalid_url'; }
  if (url.username || url.password) return 'invalid_url';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'https_required';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  // Test mode may use http:// to loopback, which the address check below enforces.
  if (url.protocol === 'http:' && policy.livemode && !policy.allowedHosts.has(hostname)) return 'https_required';
  let addresses: string[];
  if (ipaddr.isValid(hostname)) addresses = [hostname];
  else {
    try { addresses = await resolve(hostname); } catch { return 'unresolvable_host'; }
    if (addresses.length === 0) return 'unresolvable_host';
  }
  return addresses.every((a) => addressAllowed(hostname, a, url.protocol, policy)) ? null : 'forbidden_address';
}

/** undici `connect.lookup`: resolves once and hands the connector only an address that passed. */
export function guardedLookup(policy: UrlPolicy, protocol: string, resolve: Resolve = systemResolve) {
  return (hostname: string, _options: unknown, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void): void => {
    const host = hostname.replace(/^\[|\]$/g, '');
    const found = ipaddr.isValid(host) ? Promise.resolve([host]) : resolve(host);
    found.then((addresses) => {
      const chosen = addresses.find((a) => addressAllowed(host, a, protocol, policy));
      if (!addresses.every((a) => addressAllowed(host, a, protocol, policy)) || chosen === undefined) {
        callback(Object.assign(new Error('webhook address refused'), { code: 'WEBHOOK_FORBIDDEN_ADDRESS' }), '');
        return;
      }
      callback(null, [{ address: chosen, family: chosen.includes(':') ? 6 : 4 }]);
    }, (err: Error) => callback(err, ''));
  };
}
