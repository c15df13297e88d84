// The task dialog: create or edit every field, delete, comments, attachments. An edit sends
// only the fields the user changed (so nothing else is rewritten, not even a due time by a
// date round-trip), with If-Match of the version the form was filled from; a 412 shows the
// fresh version to the user, who chooses to take it or to overwrite it.

import { api } from './api.js';
import { acceptDrops, attachmentsSection, loadAttachments } from './attachments.js';
import { $, fromLocalInput, h, PRIORITIES, STATUSES, toast, toLocalInput } from './dom.js';
import { depthSection, recurrenceSelect } from './depth.js';
import { watchToggle } from './notifications.js';
import { entry, isLocalId, perform } from './outbox.js';
import { canEdit, localTask, memberName, placeFor, putTask, store } from './store.js';

const dialog = () => $('#task-dialog');
let current = null; // { taskId|null, version, initial: the form's values as filled }
let onChange = () => {};

export function initDialog(changedCallback) {
  onChange = changedCallback;
  dialog().addEventListener('close', () => {
    current = null;
    dialog().replaceChildren();
  });
  // Files need the task on the server (not yet, if it was made offline).
  const target = () => current && current.taskId && !isLocalId(current.taskId) && canEdit();
  acceptDrops(dialog(), () => (target() ? current.taskId : null));
}

export function openTaskId() {
  return current && current.taskId;
}

export function openNew(status = 'todo') {
  current = { taskId: null, version: null };
  render({ title: '', description: '', status, priority: 'none', due_at: null, remind_at: null, assignee_id: null, labels: [] });
  dialog().showModal();
}

export function openTask(taskId) {
  const task = store.tasks.get(taskId);
  if (!task) return;
  current = { taskId, version: task.version };
  render(task);
  dialog().showModal();
  if (isLocalId(taskId)) return; // no comments or files before the server has the task
  loadComments();
  loadAttachments(taskId, canEdit());
}

/** The open task changed on the server (someone else): say so, keep the user's edits. */
export function taskChangedRemotely(taskId, deleted) {
  if (!current || current.taskId !== taskId) return;
  const note = $('#dialog-note');
  if (!note) return;
  note.hidden = false;
  note.textContent = deleted
    ? 'This task was deleted by someone else.'
    : 'Someone else changed this task. Saving will ask before overwriting their change.';
}

export function commentsChanged(taskId) {
  if (current && current.taskId === taskId) loadComments();
}

export function attachmentsChanged(taskId) {
  if (current && current.taskId === taskId && !isLocalId(taskId)) loadAttachments(taskId, canEdit());
}

function field(label, control) {
  return h('label', { class: 'field' }, h('span', { text: label }), control);
}

function render(task) {
  const editable = canEdit();
  const isNew = !current.taskId;
  const select = (name, options, value) => h('select', { name, disabled: !editable },
    options.map(([v, text]) => h('option', { value: v, text, selected: v === value })));
  const assignees = [['', 'Nobody'], ...store.members.map((m) => [m.user.id, m.user.display_name])];
  const taskLabels = new Set(task.labels.map((l) => l.id));
  const labelBoxes = h('div', { class: 'label-choices' },
    store.labels.length ? null : h('span', { class: 'muted', text: 'No labels in this project.' }),
    store.labels.map((l) => {
      const box = h('label', { class: 'chip-choice' },
        h('input', { type: 'checkbox', name: 'label_ids', value: l.id, checked: taskLabels.has(l.id), disabled: !editable }),
        h('span', { class: 'chip', text: l.name }));
      box.lastChild.style.setProperty('--chip', l.color);
      return box;
    }));

  const form = h('form', { id: 'task-form', class: 'task-form', method: 'dialog', onsubmit: save },
    h('h2', { id: 'dialog-title', text: isNew ? 'New task' : editable ? 'Edit task' : 'Task' }),
    h('p', { id: 'dialog-note', class: 'note', hidden: true }),
    h('div', { id: 'conflict', class: 'conflict', hidden: true, role: 'alert' }),
    field('Title', h('input', { name: 'title', required: true, maxlength: 200, value: task.title, readonly: !editable })),
    field('Description', h('textarea', { name: 'description', rows: 4, maxlength: 20000, value: task.description, readonly: !editable })),
    h('div', { class: 'grid' },
      field('Status', select('status', STATUSES, task.status)),
      field('Priority', select('priority', PRIORITIES.map((p) => [p, p]), task.priority)),
      field('Due', h('input', { type: 'datetime-local', name: 'due', value: toLocalInput(task.due_at), readonly: !editable })),
      // Notifies the assignee and watchers at that moment (once; a new time reminds again).
      field('Remind me', h('input', { type: 'datetime-local', name: 'remind', value: toLocalInput(task.remind_at), readonly: !editable })),
      field('Assignee', select('assignee_id', assignees, task.assignee_id || '')),
      field('Repeats', recurrenceSelect(task, editable))),
    h('fieldset', { class: 'labels-field' }, h('legend', { text: 'Labels' }), labelBoxes),
    h('div', { class: 'dialog-actions' },
      editable && !isNew ? h('button', { type: 'button', class: 'danger', id: 'delete-task', text: 'Delete', onclick: remove }) : null,
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', text: editable ? 'Cancel' : 'Close', onclick: () => dialog().close() }),
      editable ? h('button', { type: 'submit', class: 'primary', id: 'save-task', text: isNew ? 'Create' : 'Save' }) : null));

  const parts = [form];
  // Subtasks, relations, files and comments need the task on the server (not yet, if made
  // offline).
  if (!isNew && !isLocalId(current.taskId)) {
    // A subtask added or ticked: the board and this section show it at once.
    const refreshDepth = () => {
      onChange();
      const fresh = store.tasks.get(task.id);
      const depth = dialog().querySelector('section.depth');
      if (fresh && depth && current && current.taskId === task.id) {
        depth.replaceWith(depthSection(fresh, editable, refreshDepth));
      }
    };
    parts.push(depthSection(task, editable, refreshDepth));
    parts.push(attachmentsSection(task.id, editable));
    parts.push(h('section', { class: 'comments' },
      h('div', { class: 'comments-head' }, h('h3', { text: 'Comments' }), watchToggle(task.id)),
      h('ul', { id: 'comment-list', class: 'comment-list' }),
      editable ? h('form', { id: 'comment-form', class: 'inline-form', onsubmit: addComment },
        h('input', { name: 'body', placeholder: 'Write a comment', required: true, maxlength: 10000, 'aria-label': 'Comment' }),
        h('button', { type: 'submit', text: 'Comment' })) : null));
  }
  dialog().replaceChildren(...parts);
  // What the user has not touched is compared against this, not against the task: the
  // form's own rendering (trimmed title, local minutes of the due time) is not an edit.
  current.initial = formValues();
}

function formValues() {
  const form = $('#task-form');
  const data = new FormData(form);
  const due = data.get('due');
  const remind = data.get('remind');
  return {
    title: String(data.get('title')).trim(),
    description: String(data.get('description')),
    status: data.get('status'),
    priority: data.get('priority'),
    due: due ? String(due) : '',  // datetime-local, the viewer's wall-clock time
    remind: remind ? String(remind) : '',
    assignee_id: data.get('assignee_id') || null,
    label_ids: data.getAll('label_ids').sort(),
    recurrence: data.get('recurrence') || null,
  };
}

/** The API body for these form values (only `fields` of them). */
function body(values, fields) {
  const out = {};
  for (const key of fields) {
    if (key === 'due') out.due_at = fromLocalInput(values.due);
    else if (key === 'remind') out.remind_at = fromLocalInput(values.remind);
    else out[key] = values[key];
  }
  return out;
}

/** The fields whose form value differs from the one the form was filled with. */
function edited(values) {
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  return Object.keys(values).filter((key) => !same(values[key], current.initial[key]));
}

async function save(e) {
  e.preventDefault();
  const values = formValues();
  try {
    if (!current.taskId) {
      const task = localTask(body(values, Object.keys(values)));
      await perform(entry('create', task, body(values, Object.keys(values)), placeFor(task.id, task.status)));
    } else {
      const fields = edited(values);
      const task = store.tasks.get(current.taskId);
      if (fields.length && task) {
        // If-Match: the version the form was filled from (queued or sent now).
        await perform(entry('update', { ...task, version: current.version }, body(values, fields)));
      }
    }
    onChange();
    dialog().close();
  } catch (error) {
    if (error.status === 412) await showConflict(values);
  }
}

async function showConflict(mine) {
  const fresh = await api.task(current.taskId);
  putTask(fresh);
  onChange();
  const box = $('#conflict');
  const diffs = [];
  const show = (v) => (v === null || v === '' ? '—' : String(v));
  if (fresh.title !== mine.title) diffs.push(['Title', fresh.title]);
  if (fresh.description !== mine.description) diffs.push(['Description', show(fresh.description)]);
  if (fresh.status !== mine.status) diffs.push(['Status', fresh.status]);
  if (fresh.priority !== mine.priority) diffs.push(['Priority', fresh.priority]);
  if (toLocalInput(fresh.due_at) !== mine.due) diffs.push(['Due', show(toLocalInput(fresh.due_at).replace('T', ' '))]);
  if (toLocalInput(fresh.remind_at) !== mine.remind) {
    diffs.push(['Reminder', show(toLocalInput(fresh.remind_at).replace('T', ' '))]);
  }
  if ((fresh.assignee_id || null) !== mine.assignee_id) {
    diffs.push(['Assignee', show(memberName(fresh.assignee_id))]);
  }
  box.replaceChildren(
    h('strong', { text: `Someone else saved this task first (now version ${fresh.version}).` }),
    h('p', { text: 'Their version:' }),
    h('dl', { class: 'fresh' }, diffs.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { class: `fresh-${k.toLowerCase()}`, text: v })])),
    h('div', { class: 'row' },
      h('button', { type: 'button', id: 'take-theirs', text: 'Use their version', onclick: () => {
        current.version = fresh.version;
        render(fresh);
        loadComments();
        loadAttachments(fresh.id, canEdit());
      } }),
      h('button', { type: 'button', id: 'keep-mine', class: 'primary', text: 'Overwrite with mine', onclick: () => {
        current.version = fresh.version;
        box.hidden = true;
        $('#task-form').requestSubmit();
      } })));
  box.hidden = false;
}

async function remove() {
  if (!window.confirm('Delete this task?')) return;
  const task = store.tasks.get(current.taskId);
  if (!task) return;
  try {
    await perform(entry('delete', task));
    onChange();
    dialog().close();
  } catch {
    // reported by the API client
  }
}

async function loadComments() {
  const taskId = current && current.taskId;
  if (!taskId) return;
  let comments;
  try {
    comments = await api.comments(taskId);
  } catch (error) {
    toast(error.message);
    return;
  }
  const list = $('#comment-list');
  if (!list || !current || current.taskId !== taskId) return;
  list.replaceChildren(...comments.map((c) => h('li', { class: 'comment' },
    h('div', { class: 'comment-head' },
      h('strong', { text: memberName(c.author_id) || 'former member' }),
      h('time', { datetime: c.created_at, text: new Date(c.created_at).toLocaleString() }),
      c.author_id === store.me.id ? h('button', { type: 'button', class: 'link', text: 'delete', onclick: async () => {
        try { await api.deleteComment(c.id); loadComments(); } catch { /* reported */ }
      } }) : null),
    h('p', { text: c.body }))));
  if (!comments.length) list.append(h('li', { class: 'muted', text: 'No comments yet.' }));
}

async function addComment(e) {
  e.preventDefault();
  const input = e.target.elements.body;
  const body = input.value.trim();
  if (!body) return;
  try {
    await api.createComment(current.taskId, { body });
    input.value = '';
    loadComments();
  } catch {
    // reported by the API client
  }
}
