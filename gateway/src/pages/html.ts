// The one HTML document every page starts from: the language, the view the script draws, and
// the inventory's script and style sheet with their SRI hashes. No inline script or style.
import type { PageAssets } from './build.js';
import type { PageLang } from './language.js';

const TITLES: Record<PageLang, string> = { kk: 'Төлем шлюзі', ru: 'Платёжный шлюз', en: 'Payment gateway' };
const NO_SCRIPT: Record<PageLang, string> = {
  kk: 'Бұл бетке JavaScript қажет.',
  ru: 'Для этой страницы нужен JavaScript.',
  en: 'This page needs JavaScript.',
};

function attr(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function pageDocument(assets: PageAssets, lang: PageLang, view: 'home' | 'checkout', sessionId?: string): string {
  const session = sessionId === undefined ? '' : ` data-session="${attr(sessionId)}"`;
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLES[lang]}</title>
<link rel="stylesheet" href="/assets/${assets.style.file}" integrity="${assets.style.integrity}" crossorigin="anonymous">
<script defer src="/assets/${assets.script.file}" integrity="${assets.script.integrity}" crossorigin="anonymous"></script>
</head><body data-view="${view}"${session}><header></header><main id="main"><noscript>${NO_SCRIPT[lang]}</noscript></main></body></html>
`;
}
