// The notification bell: unread count and the latest notifications, updated live by the
// WebSocket's `notification` frames (read again over HTTP whenever the socket (re)connects,
// since frames missed while away are not replayed). A click marks one read and opens its
// task; "Mark all read" clears the count. Also the task dialog's watch toggle.
// Who did it is named from the replica's members of any project (not only the open one);
// a notification can come before the sync has brought them, so the sync's member changes
// name it again (namesChanged).

import { api } from './api.js';
import { $, h, toast } from './dom.js';
import { knownName, store } from './store.js';

const SHOWN = 20;
let items = []; // newest first, at most SHOWN
let unread = 0;
let shown = []; // the text each of `items` was last rendered with
let hooks = { openTask: () => {}, invited: () => {} };

export function initNotifications(appHooks) {
  hooks = appHooks;
  $('#bell').addEventListener('click', () => setOpen($('#bell-panel').hidden));
  $('#bell-read-all').addEventListener('click', readAll);
  document.addEventListener('click', (e) => {
    if (!$('#bell-panel').hidden && !e.target.closest('.bell-wrap')) setOpen(false);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('#bell-panel').hidden) setOpen(false);
  });
}

function setOpen(open) {
  $('#bell-panel').hidden = !open;
  $('#bell').setAttribute('aria-expanded', String(open));
}

/** Signed in, or the live connection is back: read the count and the latest again. */
export async function refreshNotifications() {
  if (!store.me) return;
  try {
    const [count, page] = await Promise.all([
      api.unreadCount(),
      api.notifications(SHOWN),
    ]);
    unread = count.unread;
    items = page.items;
  } catch {
    return; // offline: the next reconnect reads them
  }
  render();
}

export function notificationsSignedIn() {
  $('#bell-wrap').hidden = false;
  refreshNotifications();
}

export function notificationsSignedOut() {
  items = [];
  unread = 0;
  setOpen(false);
  $('#bell-wrap').hidden = true;
  render();
}

/** A `{"type": "notification", ...}` frame from the WebSocket. */
export function onNotification(frame) {
  const { type, ...notification } = frame;
  if (items.some((n) => n.id === notification.id)) return;
  items = [notification, ...items].slice(0, SHOWN);
  if (!notification.read_at) unread += 1;
  render();
  if (notification.kind === 'invited') hooks.invited();
}

/** The replica's members changed: render again if that names someone it did not. */
export function namesChanged() {
  if (items.some((n, i) => describe(n) !== shown[i])) render();
}

function describe(n) {
  const who = (n.actor_id && knownName(n.actor_id, n.project_id)) || n.data.actor_name || 'Someone';
  const title = n.data.title ? `“${n.data.title}”` : 'a task';
  switch (n.kind) {
    case 'assigned': return `${who} assigned you ${title}`;
    case 'mentioned': return `${who} mentioned you in ${title}`;
    case 'commented': return `${who} commented on ${title}`;
    case 'invited': return `${who} invited you to ${n.data.project_name || 'a project'}`;
    case 'due_soon': return `${title} is due soon`;
    case 'reminder': return `Reminder: ${title}`;
    default: return `${n.kind.replace('_', ' ')}: ${n.data.title || ''}`;
  }
}

function render() {
  const count = $('#bell-count');
  count.textContent = unread > 99 ? '99+' : String(unread);
  count.hidden = unread === 0;
  $('#bell').setAttribute('aria-label', `Notifications (${unread} unread)`);
  $('#bell-read-all').disabled = unread === 0;
  const list = $('#bell-list');
  shown = items.map(describe);
  list.replaceChildren(...items.map((n, i) => h('li', {},
    h('button', {
      type: 'button',
      class: `notification${n.read_at ? '' : ' unread'}`,
      dataset: { id: n.id, kind: n.kind },
      onclick: () => open(n),
    },
    h('span', { class: 'notification-text', text: shown[i] }),
    n.data.excerpt ? h('span', { class: 'notification-excerpt muted', text: n.data.excerpt }) : null,
    h('time', { datetime: n.created_at, text: new Date(n.created_at).toLocaleString() })))));
  if (!items.length) list.append(h('li', { class: 'muted', text: 'Nothing yet.' }));
}

async function open(n) {
  setOpen(false);
  if (!n.read_at) {
    try {
      const read = await api.readNotification(n.id);
      n.read_at = read.read_at;
      unread = Math.max(0, unread - 1);
      render();
    } catch {
      return; // reported by the API client
    }
  }
  if (n.task_id && n.project_id) hooks.openTask(n.project_id, n.task_id);
  else if (n.kind === 'invited') hooks.invited();
}

async function readAll() {
  try {
    await api.readAllNotifications();
  } catch {
    return; // reported
  }
  const now = new Date().toISOString();
  items = items.map((n) => (n.read_at ? n : { ...n, read_at: now }));
  unread = 0;
  render();
}

// --- the task dialog's watch toggle ---------------------------------------------------

/** A toggle button for `taskId`: shows the caller's state once read, flips it on click. */
export function watchToggle(taskId) {
  const button = h('button', { type: 'button', id: 'watch-toggle', class: 'link', disabled: true, text: 'Watch' });
  const show = (watching) => {
    button.dataset.watching = String(watching);
    button.setAttribute('aria-pressed', String(watching));
    button.textContent = watching ? 'Watching (stop)' : 'Watch';
    button.title = watching ? 'You are told of every comment on this task' : 'Be told of every comment on this task';
    button.disabled = false;
  };
  button.addEventListener('click', async () => {
    const watching = button.dataset.watching === 'true';
    button.disabled = true;
    try {
      show((await (watching ? api.unwatch(taskId) : api.watch(taskId))).watching);
    } catch {
      show(watching); // reported by the API client
    }
  });
  api.watching(taskId).then((state) => show(state.watching), (error) => toast(error.message));
  return button;
}
