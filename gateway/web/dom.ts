// A tiny DOM builder: every text goes in as a text node, so nothing the API or a person typed is
// ever parsed as HTML (the CSP has no 'unsafe-inline' and no script can be injected this way).
type Attrs = Record<string, string | boolean | undefined | ((event: Event) => void)>;
type Child = Node | string | null | undefined | false;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

let fieldSeq = 0;

/** A labelled input with its error slot next to it (aria-describedby), as one block. */
export function field(label: string, attrs: Attrs): { block: HTMLElement; input: HTMLInputElement; error: (text: string) => void } {
  const id = `f${++fieldSeq}`;
  const errorId = `${id}-error`;
  const input = h('input', { id, 'aria-describedby': errorId, ...attrs }) as HTMLInputElement;
  const errorEl = h('p', { class: 'error', id: errorId, 'aria-live': 'polite' });
  const block = h('div', { class: 'field' }, h('label', { for: id }, label), input, errorEl);
  return {
    block, input,
    error(text: string) {
      errorEl.textContent = text;
      if (text) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
    },
  };
}
