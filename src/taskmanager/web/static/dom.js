// Tiny DOM helpers. Every string lands in the page as text (textContent / text nodes),
// never as markup: user data cannot inject HTML.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'value' || key === 'checked' || key === 'selected') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

let toastTimer = null;

export function toast(message, kind = 'error') {
  const box = $('#toast');
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, kind === 'error' ? 8000 : 3000);
}

const pad = (n) => String(n).padStart(2, '0');

/** The calendar date of an instant in the viewer's time zone (YYYY-MM-DD; '' for none). */
export function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${String(d.getFullYear()).padStart(4, '0')}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** An instant as a datetime-local input value, in the viewer's time zone. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${formatDate(iso)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (the viewer's wall-clock time) as an RFC 3339 instant. */
export function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : null;
}

/** Due and not done: the board shows it as overdue. */
export function isOverdue(task, now = Date.now()) {
  return !!task.due_at && task.status !== 'done' && new Date(task.due_at).getTime() < now;
}

export const STATUSES = [
  ['todo', 'To do'],
  ['in_progress', 'In progress'],
  ['done', 'Done'],
];
export const PRIORITIES = ['none', 'low', 'medium', 'high', 'urgent'];
