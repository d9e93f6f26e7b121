// The page's language: the one the person chose (a cookie the language switch sets), else the
// browser's Accept-Language, else Kazakh, the bank's default. Both are client-written: only the
// three known values can come out.
export const PAGE_LANGS = ['kk', 'ru', 'en'] as const;
export type PageLang = (typeof PAGE_LANGS)[number];
export const LANG_COOKIE = '__Host-pgw_lang';

function known(tag: string): PageLang | undefined {
  const primary = tag.trim().toLowerCase().split('-')[0];
  return (PAGE_LANGS as readonly string[]).includes(primary ?? '') ? primary as PageLang : undefined;
}

export function pageLanguage(chosen: string | undefined, acceptLanguage: string | undefined): PageLang {
  const fromCookie = chosen ? known(chosen) : undefined;
  if (fromCookie) return fromCookie;
  const ranked = (acceptLanguage ?? '').slice(0, 512).split(',').map((part, index) => {
    const [tag = '', ...params] = part.split(';');
    const q = params.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return { lang: known(tag), q: q === undefined ? 1 : Number(q), index };
  }).filter((r) => r.lang && r.q > 0).sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked[0]?.lang ?? 'kk';
}
