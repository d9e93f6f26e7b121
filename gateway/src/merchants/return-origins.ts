// Where a checkout may send the customer back (no open redirect): a merchant lists exact https
// origins, and a return URL is accepted only when its origin is one of them, byte for byte.
/** `value` as an https origin (`https://host[:port]`, nothing else), or undefined. */
export function httpsOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return undefined;
  return url.origin === value ? url.origin : undefined;
}

/** True when `returnUrl` is an https URL whose origin is one of `origins`. */
export function returnUrlAllowed(returnUrl: string, origins: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(returnUrl);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && url.username === '' && url.password === '' && origins.includes(url.origin);
}
