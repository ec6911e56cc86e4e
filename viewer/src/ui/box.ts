// A collapsible map box (legend, layer switcher): a heading that folds the
// body away, so small screens keep the map. The folded state survives
// re-rendering (language switch, layer changes).

export function collapsible(el: HTMLElement, title: string): HTMLElement {
  const closed = el.dataset.closed === 'true';
  el.innerHTML = '';
  const h = document.createElement('h3');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'box-toggle';
  b.textContent = title;
  b.setAttribute('aria-expanded', String(!closed));
  const body = document.createElement('div');
  body.className = 'box-body';
  body.hidden = closed;
  b.addEventListener('click', () => {
    const nowClosed = !body.hidden;
    body.hidden = nowClosed;
    el.dataset.closed = String(nowClosed);
    b.setAttribute('aria-expanded', String(!nowClosed));
  });
  h.append(b);
  el.append(h, body);
  return body;
}
