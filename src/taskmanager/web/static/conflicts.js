// What the outbox is doing, shown to the user: the "N pending / syncing / N conflicts"
// indicator, and the conflict dialog putting the server's version ("theirs") next to the
// queued change ("mine") with the choice between them.

import { $, formatDate, h, toLocalInput } from './dom.js';
import { conflicts, isFlushing, pending, resolve } from './outbox.js';
import { replica } from './replica.js';

const dialog = () => $('#conflict-dialog');
let shown = null; // id of the outbox entry in the dialog
let syncing = false; // catching up with GET /sync

export function setSyncing(on) {
  syncing = on;
  renderOutboxState();
}

export function initConflicts() {
  $('#outbox-state').addEventListener('click', () => showConflicts());
  dialog().addEventListener('close', () => {
    shown = null;
  });
}

export function renderOutboxState() {
  const el = $('#outbox-state');
  const count = pending();
  const conflicted = conflicts().length;
  const busy = syncing || isFlushing();
  el.hidden = !count && !busy;
  el.disabled = !conflicted;
  el.dataset.state = conflicted ? 'conflict' : busy ? 'syncing' : 'pending';
  if (conflicted) el.textContent = `${conflicted} conflict${conflicted === 1 ? '' : 's'}`;
  else if (count) el.textContent = `${count} pending${busy ? ', syncing…' : ''}`;
  else el.textContent = 'syncing…';
  if (shown !== null && !conflicts().some((e) => e.id === shown)) dialog().close();
}

const FIELDS = {
  title: 'Title', description: 'Description', status: 'Status', priority: 'Priority',
  due_at: 'Due', remind_at: 'Reminder', assignee_id: 'Assignee', label_ids: 'Labels',
  recurrence: 'Repeats',
};

function display(key, value, projectId) {
  if (value === null || value === undefined || value === '') return '—';
  if (key === 'due_at' || key === 'remind_at') return `${formatDate(value)} ${toLocalInput(value).slice(11)}`;
  if (key === 'assignee_id') {
    const m = (replica.members.get(projectId) || []).find((x) => x.user.id === value);
    return m ? m.user.display_name : 'someone';
  }
  if (key === 'label_ids') {
    const labels = new Map((replica.labels.get(projectId) || []).map((l) => [l.id, l.name]));
    return value.map((id) => labels.get(id) || '?').join(', ') || '—';
  }
  return String(value);
}

/** Their value of an API field, in the form the write uses. */
function theirValue(key, task) {
  return key === 'label_ids' ? task.labels.map((l) => l.id) : task[key];
}

function rows(e) {
  const theirs = e.theirs;
  if (e.kind === 'delete') {
    return [['Task', `changed (version ${theirs.version})`, 'deleted']];
  }
  const keys = e.kind === 'move' ? ['status'] : Object.keys(e.body).filter((k) => k in FIELDS);
  const out = keys.map((k) => [FIELDS[k], display(k, theirValue(k, theirs), e.project_id),
    display(k, k === 'status' ? e.body.status || theirs.status : e.body[k], e.project_id), k]);
  if (e.kind === 'move') out.push(['Position', 'where they left it', 'where you moved it', 'position']);
  return out;
}

/** Open the dialog on the first conflict (nothing when there is none). */
export function showConflicts() {
  renderOutboxState();
  const e = conflicts()[0];
  if (!e) return;
  shown = e.id;
  const action = { update: 'edited', move: 'moved', delete: 'deleted' }[e.kind];
  dialog().replaceChildren(
    h('h2', { id: 'conflict-title', text: 'Someone else changed this task first' }),
    h('p', { text: `You ${action} “${e.theirs.title}” while it could not be sent; meanwhile it was changed elsewhere. Choose which version to keep.` }),
    h('table', { class: 'conflict-table' },
      h('thead', {}, h('tr', {}, h('th', { text: '' }), h('th', { text: 'Theirs' }), h('th', { text: 'Mine' }))),
      h('tbody', {}, rows(e).map(([label, theirs, mine, key]) => h('tr', { dataset: { field: key || 'task' } },
        h('th', { text: label }), h('td', { class: 'theirs', text: theirs }), h('td', { class: 'mine', text: mine }))))),
    h('div', { class: 'dialog-actions' },
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', id: 'conflict-take-theirs', text: 'Take theirs', onclick: () => choose(e.id, 'theirs') }),
      h('button', { type: 'button', id: 'conflict-keep-mine', class: 'primary', text: 'Keep mine', onclick: () => choose(e.id, 'mine') })),
  );
  if (!dialog().open) dialog().showModal();
}

async function choose(entryId, choice) {
  dialog().close();
  await resolve(entryId, choice);
  showConflicts();
}
