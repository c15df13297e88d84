// Task writes made on the board (create, update, move, delete). Online with nothing queued
// they are sent at once, as before. Otherwise (offline, or the network fails) they are
// queued in the local database with an Idempotency-Key (POSTs) and the version they were
// based on (If-Match), shown at once over the replica, and sent in order when the server
// can be reached. A 412 is never overwritten silently: the write waits, with the server's
// version, until the user keeps theirs (re-sent against the new version) or takes the
// server's.

import { ApiError, request } from './api.js';
import { addEntry, removeEntry, removeTask, replica, saveEntries, saveTask } from './replica.js';

const RETRY_MS = 5000;
// Statuses the outbox deals with itself (a 401 still ends the session through api.js).
const HANDLED = [0, 403, 404, 409, 412, 422, 429, 500, 502, 503, 504];

const listeners = new Set();
let hooks = { conflict: () => {}, refused: () => {} };
let flushing = false;
let retryTimer = null;
let lastId = 0;

/** hooks: conflict() when a write waits for the user; refused(entry, error) when dropped. */
export function initOutbox(options) {
  hooks = options;
  window.addEventListener('online', () => flush());
}

/** fn({taskId?}) after every change of the queue (the view and the indicator follow it). */
export function onOutboxChange(fn) {
  listeners.add(fn);
}

function changed(info = {}) {
  for (const fn of listeners) fn(info);
}

export const pending = () => replica.outbox.length;
export const conflicts = () => replica.outbox.filter((e) => e.state === 'conflict');
export const isFlushing = () => flushing;

function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A write of `kind` on `task` (for a create: the local task, with a `local-` id). */
export function entry(kind, task, body = {}, position = null) {
  lastId = Math.max(Date.now(), lastId + 1, ...replica.outbox.map((e) => e.id + 1));
  return {
    id: lastId,
    key: randomKey(),
    kind,
    project_id: task.project_id,
    task_id: task.id,
    version: kind === 'create' ? null : task.version,
    body,
    position, // where a create or move shows the card until the server answers
    local: kind === 'create' ? task : null,
    state: 'queued',
  };
}

export const newLocalId = () => `local-${randomKey()}`;
export const isLocalId = (id) => typeof id === 'string' && id.startsWith('local-');

function call(e, direct) {
  const headers = {};
  // Sent at once, a move or delete goes as before (the board is live, so it acts on the
  // current version); queued, it only applies to the version the user saw.
  if (e.version && (e.kind === 'update' || !direct)) headers['If-Match'] = `"${e.version}"`;
  const expected = direct ? [0, 412] : HANDLED;
  const post = (path, body) => request('POST', path, { body, headers: { ...headers, 'Idempotency-Key': e.key }, expected });
  if (e.kind === 'create') return post(`/projects/${e.project_id}/tasks`, e.body);
  if (e.kind === 'move') return post(`/tasks/${e.task_id}/move`, e.body);
  if (e.kind === 'update') return request('PATCH', `/tasks/${e.task_id}`, { body: e.body, headers, expected });
  return request('DELETE', `/tasks/${e.task_id}`, { headers, expected });
}

/** The server took `e` (answer `result`): the replica and the writes queued behind it follow. */
function settle(e, result) {
  const later = replica.outbox.filter((x) => x.task_id === e.task_id && x.id !== e.id);
  if (e.kind === 'delete') {
    removeTask(e.task_id);
  } else {
    saveTask(result);
    for (const x of later) {
      x.task_id = result.id; // a created task's local id becomes the server's
      if (x.state === 'queued') x.version = result.version;
    }
    saveEntries(later);
  }
}

/**
 * Perform a write: at once when online and nothing is queued (errors other than "offline"
 * are thrown to the caller, a 412 of an update included); queued otherwise. Returns the
 * server's answer, or null when queued.
 */
export async function perform(e) {
  if (navigator.onLine && !replica.outbox.length) {
    try {
      const result = await call(e, true);
      settle(e, result);
      changed({ taskId: e.task_id });
      return result;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 0) throw error;
    }
  }
  await addEntry(e);
  changed({ taskId: e.task_id });
  flush();
  return null;
}

/** Send the queue in order; a write waiting for the user holds back only its own task. */
export async function flush() {
  if (flushing || !replica.local) return;
  flushing = true;
  clearTimeout(retryTimer);
  changed();
  const userId = replica.userId;
  try {
    while (navigator.onLine && replica.userId === userId) {
      const held = new Set(conflicts().map((e) => e.task_id));
      const next = replica.outbox.find((e) => e.state === 'queued' && !held.has(e.task_id));
      if (!next) break;
      if (!(await sendQueued(next))) break;
      if (replica.userId !== userId) break;
      changed({ taskId: next.task_id });
    }
  } finally {
    flushing = false;
    changed();
  }
}

/** One queued write; false: stop for now (offline, or try again later). */
async function sendQueued(e) {
  let result;
  try {
    result = await call(e, false);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return failed(e, error);
  }
  await removeEntry(e.id);
  settle(e, result);
  return true;
}

async function failed(e, error) {
  const { status } = error;
  const code = error.problem && error.problem.code;
  if (status === 0 || status === 401) return false;
  if (status === 429 || status >= 500 || code === 'idempotency_in_flight') {
    retryTimer = setTimeout(flush, RETRY_MS);
    return false;
  }
  if (status === 412) return conflicted(e);
  if (status === 404 && e.kind === 'delete') {
    await removeEntry(e.id); // deleted already (by someone else, or by our lost answer)
    removeTask(e.task_id);
    return true;
  }
  await refuse(e, error);
  return true;
}

/** The server refuses the write (gone, not allowed, invalid): it and what builds on it go. */
async function refuse(e, error) {
  const gone = error.status === 404;
  const dropped = replica.outbox.filter((x) => x.id === e.id || (gone && x.task_id === e.task_id));
  for (const x of dropped) await removeEntry(x.id);
  if (gone) removeTask(e.task_id);
  hooks.refused(e, error);
}

/** A 412: compare with the server's version; a write that already landed is done. */
async function conflicted(e) {
  let theirs;
  try {
    theirs = await request('GET', `/tasks/${e.task_id}`);
  } catch (error) {
    if (error.status === 404) {
      await refuse(e, error);
      return true;
    }
    return false; // offline again: the next flush starts over
  }
  saveTask(theirs);
  if (landed(e, theirs)) {
    // Our earlier attempt went through but its answer was lost: nothing to ask.
    await removeEntry(e.id);
    settle(e, theirs);
    return true;
  }
  e.state = 'conflict';
  e.theirs = theirs;
  await saveEntries([e]);
  hooks.conflict(e);
  return true;
}

const sameValue = (key, value, task) => {
  if (key === 'label_ids') return JSON.stringify([...value].sort()) === JSON.stringify(task.labels.map((l) => l.id).sort());
  if (key === 'due_at' || key === 'remind_at') return (value && Date.parse(value)) === (task[key] && Date.parse(task[key]));
  return JSON.stringify(value ?? null) === JSON.stringify(task[key] ?? null);
};

/** Only updates can need this: a retried POST (create, move) is answered from its
 * Idempotency-Key, and a retried DELETE of a deleted task is a 404. */
function landed(e, theirs) {
  return e.kind === 'update' && Object.entries(e.body).every(([k, v]) => sameValue(k, v, theirs));
}

/** The user's answer to a conflict: 'mine' re-sends against their version; 'theirs' drops ours. */
export async function resolve(entryId, choice) {
  const e = replica.outbox.find((x) => x.id === entryId);
  if (!e || e.state !== 'conflict') return;
  const theirs = e.theirs;
  if (choice === 'mine') {
    e.state = 'queued';
    e.version = theirs.version;
    delete e.theirs;
    await saveEntries([e]);
  } else {
    await removeEntry(e.id);
    const later = replica.outbox.filter((x) => x.task_id === e.task_id && x.state === 'queued');
    for (const x of later) x.version = theirs.version;
    await saveEntries(later);
  }
  changed({ taskId: e.task_id });
  flush();
}

// --- the view: the replica with the queued writes laid over it --------------------------

function withLabels(body, labels) {
  const out = { ...body };
  if (body.label_ids) {
    const byId = new Map(labels.map((l) => [l.id, l]));
    out.labels = body.label_ids.filter((id) => byId.has(id)).map((id) => byId.get(id));
    delete out.label_ids;
  }
  return out;
}

/** The tasks of a project as the board shows them: server state + queued writes. */
export function overlay(projectId, serverTasks, labels) {
  const view = new Map(serverTasks.map((t) => [t.id, t]));
  for (const e of replica.outbox) {
    if (e.project_id !== projectId) continue;
    const current = view.get(e.task_id);
    const marks = { pending: true, conflict: e.state === 'conflict' };
    if (e.kind === 'create') view.set(e.task_id, { ...e.local, position: e.position, ...marks });
    else if (!current) continue;
    else if (e.kind === 'delete') view.delete(e.task_id);
    else if (e.kind === 'move') view.set(e.task_id, { ...current, status: e.body.status || current.status, position: e.position, ...marks });
    else view.set(e.task_id, { ...current, ...withLabels(e.body, labels), ...marks });
  }
  return view;
}

/** A key sorting strictly between a and b (null: open end), for cards shown before the
 * server has placed them; never sent. */
export function between(a, b) {
  let out = '';
  for (let i = 0; ; i += 1) {
    const ca = a !== null && i < a.length ? a.charCodeAt(i) : 47; // below '0'
    const cb = b !== null && i < b.length ? b.charCodeAt(i) : 123; // above 'z'
    if (cb - ca > 1) return out + String.fromCharCode((ca + cb) >> 1);
    out += String.fromCharCode(ca);
    if (cb !== ca) b = null;
  }
}
