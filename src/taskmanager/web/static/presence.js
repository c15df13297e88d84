// Presence: who else has the open project on screen (initials in the top bar) and which
// task someone is editing (a marker on its card). This page says "viewing" once it is
// subscribed, "editing" with the task while the task dialog is open, "viewing" again when
// it closes; the server sends the merged list whenever it changes. The live socket's pings
// are the heartbeats. Sends are spaced out below the server's limit (10 per 10 s).

import { $, h } from './dom.js';
import { canEdit, store } from './store.js';

const WINDOW_MS = 10000;
const MAX_PER_WINDOW = 8;

let live = null;
let users = []; // the latest list the server sent...
let usersOf = null; // ...and the project it is about
let openTaskId = null; // the task this page has open in the dialog
let sent = []; // when our recent presence messages went out
let deferred = null;

export function initPresence(liveConnection) {
  live = liveConnection;
}

/** Say where we are (after subscribing, and when the dialog opens or closes). */
export function announce() {
  if (!live || !store.project) return;
  const now = Date.now();
  sent = sent.filter((t) => now - t < WINDOW_MS);
  if (sent.length >= MAX_PER_WINDOW) {
    // Only the latest state matters: send it when the window allows.
    clearTimeout(deferred);
    deferred = setTimeout(announce, WINDOW_MS - (now - sent[0]) + 50);
    return;
  }
  const message = { type: 'presence', project_id: store.project.id, state: 'viewing' };
  if (openTaskId) {
    message.task_id = openTaskId;
    if (canEdit()) message.state = 'editing';
  }
  if (live.send(message)) sent.push(now);
}

/** The task dialog opened (a task id) or closed (null). */
export function setOpenTask(taskId) {
  if (taskId === openTaskId) return;
  openTaskId = taskId;
  announce();
}

/** A `presence` frame from the server. Returns true if it was for the open project. */
export function onPresence(msg) {
  if (!store.project || msg.project_id !== store.project.id) return false;
  users = msg.users;
  usersOf = msg.project_id;
  renderPresence();
  return true;
}

/** The connection dropped: the list we had no longer holds. */
export function clearPresence() {
  users = [];
  renderPresence();
}

function others() {
  if (!store.project || usersOf !== store.project.id) return []; // about another project
  const me = store.me && store.me.id;
  return users.filter((u) => u.user_id !== me);
}

/** The other users editing this task (for the marker on its card). */
export function editorsOf(taskId) {
  return others().filter((u) => u.state === 'editing' && u.task_id === taskId);
}

export function initials(name) {
  const words = (name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

export function renderPresence() {
  const box = $('#presence');
  const list = others();
  box.hidden = !list.length;
  box.replaceChildren(...list.map((u) => h('span', {
    class: `avatar${u.state === 'editing' ? ' editing' : ''}`,
    text: initials(u.display_name),
    title: u.state === 'editing' ? `${u.display_name} (editing a task)` : u.display_name,
    dataset: { userId: u.user_id, state: u.state },
  })));
  box.setAttribute('aria-label', list.length
    ? `Also here: ${list.map((u) => u.display_name).join(', ')}`
    : 'Nobody else here');
}
