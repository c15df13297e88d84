// Tasks in depth on the board: subtask progress and relation chips on cards, the
// subtasks and recurrence of the task dialog.

import { api } from './api.js';
import { h } from './dom.js';
import { putTask, store } from './store.js';

const RECURRENCES = [
  ['', 'Does not repeat'],
  ['FREQ=DAILY', 'Every day'],
  ['FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', 'Every weekday'],
  ['FREQ=WEEKLY', 'Every week'],
  ['FREQ=MONTHLY', 'Every month'],
];
const KIND_TEXT = {
  blocks: 'blocks', blocked_by: 'blocked by', relates_to: 'relates to',
  duplicates: 'duplicates', duplicated_by: 'duplicated by',
};

/** Whether another task blocks this one (the card is marked). */
export function isBlocked(task) {
  return (task.relations || []).some((r) => r.kind === 'blocked_by');
}

/** Subtask progress and relation chips for a card's meta line. */
export function cardExtras(task) {
  const out = [];
  // From the board's own tasks, so that live events of subtasks update the parent's card
  // (the server does not re-send the parent when one of its subtasks changes).
  const subs = [...store.tasks.values()].filter((t) => t.parent_id === task.id);
  const counts = { total: subs.length, done: subs.filter((t) => t.status === 'done').length };
  if (counts.total) {
    out.push(h('span', {
      class: 'subtask-progress', text: `☑ ${counts.done}/${counts.total}`,
      title: `${counts.done} of ${counts.total} subtasks done`,
    }));
  }
  if (isBlocked(task)) out.push(h('span', { class: 'rel-chip blocked', text: 'blocked' }));
  const blocking = (task.relations || []).filter((r) => r.kind === 'blocks').length;
  if (blocking) out.push(h('span', { class: 'rel-chip', text: `blocks ${blocking}` }));
  if (task.parent_id) {
    const parent = store.tasks.get(task.parent_id);
    out.push(h('span', { class: 'parent-ref', text: `↳ ${parent ? parent.title : 'subtask'}` }));
  }
  if (task.recurrence) out.push(h('span', { class: 'repeats', text: '↻', title: task.recurrence }));
  return out;
}

/** The recurrence picker (a select; a custom rule set elsewhere stays selectable). */
export function recurrenceSelect(task, editable) {
  const options = [...RECURRENCES];
  if (task.recurrence && !options.some(([v]) => v === task.recurrence)) {
    options.push([task.recurrence, task.recurrence]);
  }
  return h('select', { name: 'recurrence', disabled: !editable, 'aria-label': 'Repeats' },
    options.map(([v, text]) => h('option', { value: v, text, selected: v === (task.recurrence || '') })));
}

/** The dialog's subtasks (with their done box and an add form) and its relations. */
export function depthSection(task, editable, changed) {
  const section = h('section', { class: 'depth' });
  if (!task.parent_id) {
    const subs = [...store.tasks.values()].filter((t) => t.parent_id === task.id);
    const list = h('ul', { id: 'subtask-list', class: 'subtask-list' }, subs.map((sub) =>
      h('li', { class: 'subtask', dataset: { id: sub.id } },
        h('label', {},
          h('input', {
            type: 'checkbox', checked: sub.status === 'done', disabled: !editable,
            'aria-label': `Done: ${sub.title}`,
            onchange: async (e) => {
              try {
                putTask(await api.updateTask(sub.id, { status: e.target.checked ? 'done' : 'todo' }));
                putTask(await api.task(task.id));
                changed();
              } catch { /* reported */ }
            },
          }),
          h('span', { text: sub.title })))));
    section.append(h('h3', { text: `Subtasks (${subs.filter((s) => s.status === 'done').length}/${subs.length})` }), list);
    if (editable) {
      section.append(h('form', {
        id: 'subtask-form', class: 'inline-form',
        onsubmit: async (e) => {
          e.preventDefault();
          const input = e.target.elements.title;
          const title = input.value.trim();
          if (!title) return;
          try {
            putTask(await api.createTask(store.project.id, { title, parent_id: task.id }));
            putTask(await api.task(task.id));
            input.value = '';
            changed();
          } catch { /* reported */ }
        },
      }, h('input', { name: 'title', placeholder: 'Add a subtask', maxlength: 200, 'aria-label': 'Subtask title' }),
      h('button', { type: 'submit', text: 'Add' })));
    }
  }
  if ((task.relations || []).length) {
    section.append(h('h3', { text: 'Related' }), h('ul', { class: 'relation-list' },
      task.relations.map((r) => {
        const other = store.tasks.get(r.task_id);
        return h('li', { class: r.kind === 'blocked_by' ? 'blocked' : '' },
          h('span', { text: `${KIND_TEXT[r.kind] || r.kind} ` }),
          h('strong', { text: other ? other.title : 'a task' }));
      })));
  }
  return section;
}
