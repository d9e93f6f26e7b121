// Module resolution hook of the harness's virtual users: `k6` and `k6/*` name the harness's
// implementation (k6/index.ts, k6/http.ts, …); every other specifier resolves as Node resolves it.
const K6 = new Set(['k6', 'k6/http', 'k6/metrics', 'k6/data']);

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  if (specifier.startsWith('k6')) {
    if (!K6.has(specifier)) throw new Error(`the k6 harness does not implement module ${specifier}`);
    const file = specifier === 'k6' ? 'index' : specifier.slice(3);
    // Resolved further down the chain, so tsx marks it as TypeScript to compile.
    return next(new URL(`./k6/${file}.ts`, import.meta.url).href, context);
  }
  return next(specifier, context);
}
