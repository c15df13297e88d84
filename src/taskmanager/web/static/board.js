// The board: one column per status, cards in position order (only those the filters
// select), due dates in the viewer's time zone, overdue cards marked, HTML5 drag and drop
// and keyboard-accessible move buttons. Both end in POST /tasks/{id}/move.

import { $, $$, formatDate, h, isOverdue, STATUSES } from './dom.js';
import { cardExtras, isBlocked } from './depth.js';
import { entry, perform } from './outbox.js';
import { editorsOf, initials } from './presence.js';
import { canEdit, memberName, placeFor, refreshTasks, shownIn, store, tasksIn } from './store.js';

let handlers = { open: () => {}, quickAdd: () => {} };
let dragging = null; // id of the card being dragged
let renderPending = false;
const flashed = new Set();

export function initBoard(options) {
  handlers = options;
}

/** Mark a card as changed by someone else: it flashes once when next rendered. */
export function flash(taskId) {
  flashed.add(taskId);
}

export function renderBoard() {
  const board = $('#board');
  if (dragging) {
    renderPending = true; // rebuilding now would cancel the drag; do it on dragend
    return;
  }
  const focusKey = document.activeElement && document.activeElement.dataset.focus;
  // A title half typed into a quick-add field survives a live update re-rendering the board.
  const typed = $$('.quick-add input', board).filter((i) => i.value).map((i) => [i.dataset.focus, i.value]);
  const editable = canEdit();
  board.replaceChildren(...STATUSES.map(([status, title]) => column(status, title, editable)));
  for (const [key, value] of typed) {
    const input = $(`[data-focus="${CSS.escape(key)}"]`, board);
    if (input) input.value = value;
  }
  if (focusKey) {
    const again = $(`[data-focus="${CSS.escape(focusKey)}"]`, board);
    if (again) again.focus();
  }
  flashed.clear();
}

function column(status, title, editable) {
  // Moves are relative to the whole column, hidden (filtered out) cards included.
  const all = tasksIn(status);
  const tasks = shownIn(status);
  const list = h('ol', { class: 'cards', dataset: { status }, 'aria-label': title });
  tasks.forEach((task) => list.append(card(task, all.indexOf(task), all.length, status, editable)));
  if (editable) {
    list.addEventListener('dragover', (e) => dragOver(e, list));
    list.addEventListener('dragleave', (e) => {
      if (!list.contains(e.relatedTarget)) clearDropMarker();
    });
    list.addEventListener('drop', (e) => drop(e, list));
  }
  return h(
    'section',
    { class: 'column', dataset: { status } },
    h('header', { class: 'column-head' },
      h('h2', { text: title }),
      h('span', { class: 'count', text: String(tasks.length), 'aria-label': `${tasks.length} tasks` })),
    editable ? quickAdd(status) : null,
    list,
  );
}

function quickAdd(status) {
  const input = h('input', {
    name: 'title', placeholder: '+ Add a task', maxlength: 200, 'aria-label': 'New task title',
    dataset: { focus: `add-${status}` },
  });
  return h('form', {
    class: 'quick-add',
    onsubmit: (e) => {
      e.preventDefault();
      const title = input.value.trim();
      if (!title) return;
      input.value = '';
      handlers.quickAdd(status, title);
    },
  }, input);
}

function card(task, index, count, status, editable) {
  const statusIndex = STATUSES.findIndex(([s]) => s === status);
  const meta = h('div', { class: 'card-meta' });
  if (task.priority !== 'none') {
    meta.append(h('span', { class: `prio prio-${task.priority}`, text: task.priority }));
  }
  const overdue = isOverdue(task);
  if (task.due_at) {
    meta.append(h('time', {
      class: 'due', datetime: task.due_at, title: new Date(task.due_at).toLocaleString(),
      text: `${overdue ? 'overdue, ' : ''}due ${formatDate(task.due_at)}`,
    }));
  }
  if (task.assignee_id) {
    meta.append(h('span', { class: 'assignee', text: memberName(task.assignee_id) || 'someone' }));
  }
  meta.append(...cardExtras(task));
  const labels = h('ul', { class: 'chips' });
  for (const label of task.labels) {
    const chip = h('li', { class: 'chip', text: label.name });
    chip.style.setProperty('--chip', label.color); // CSSOM, allowed by the CSP
    labels.append(chip);
  }
  const editors = editorsOf(task.id);
  const marker = editors.length
    ? h('span', {
      class: 'editing-marker',
      text: `✎ ${editors.map((u) => initials(u.display_name)).join(' ')}`,
      title: `${editors.map((u) => u.display_name).join(', ')} editing`,
    })
    : null;
  const el = h(
    'li',
    {
      class: `card${flashed.has(task.id) ? ' flash' : ''}${overdue ? ' overdue' : ''}${isBlocked(task) ? ' blocked' : ''}${
        editors.length ? ' being-edited' : ''}${task.pending ? ' pending' : ''}${task.conflict ? ' conflicted' : ''}`,
      title: task.conflict ? 'Conflicts with a change made elsewhere' : task.pending ? 'Not sent yet' : null,
      draggable: editable ? 'true' : 'false',
      dataset: { id: task.id },
    },
    h('button', {
      type: 'button', class: 'card-title', text: task.title,
      dataset: { focus: `open-${task.id}` }, onclick: () => handlers.open(task.id),
    }),
    marker,
    meta.childElementCount ? meta : null,
    task.labels.length ? labels : null,
    editable ? moveButtons(task, index, count, statusIndex) : null,
  );
  if (editable) {
    el.addEventListener('dragstart', (e) => {
      dragging = task.id;
      e.dataTransfer.effectAllowed = 'move';
      e.dataTransfer.setData('text/plain', task.id);
      requestAnimationFrame(() => el.classList.add('dragging'));
    });
    el.addEventListener('dragend', () => {
      el.classList.remove('dragging');
      dragging = null;
      clearDropMarker();
      if (renderPending) {
        renderPending = false;
        renderBoard();
      }
    });
  }
  return el;
}

function moveButtons(task, index, count, statusIndex) {
  const button = (label, symbol, enabled, action) => h('button', {
    type: 'button', class: 'move', 'aria-label': `${label}: ${task.title}`, title: label,
    text: symbol, disabled: !enabled, dataset: { focus: `${label}-${task.id}` },
    onclick: action,
  });
  const left = STATUSES[statusIndex - 1];
  const right = STATUSES[statusIndex + 1];
  return h('div', { class: 'card-actions' },
    button('Move left', '←', !!left, () => moveToColumn(task, left && left[0])),
    button('Move up', '↑', index > 0, () => moveWithin(task, -1)),
    button('Move down', '↓', index < count - 1, () => moveWithin(task, 1)),
    button('Move right', '→', !!right, () => moveToColumn(task, right && right[0])));
}

async function moveToColumn(task, status) {
  if (!status) return;
  const target = tasksIn(status);
  const body = { status };
  if (target.length) body.after_id = target[target.length - 1].id; // to the end
  await move(task.id, body);
}

async function moveWithin(task, delta) {
  const others = tasksIn(task.status);
  const i = others.findIndex((t) => t.id === task.id);
  const j = i + delta;
  if (j < 0 || j >= others.length) return;
  const body = delta < 0 ? { before_id: others[j].id } : { after_id: others[j].id };
  body.status = task.status;
  await move(task.id, body);
}

export async function move(taskId, body) {
  const task = store.tasks.get(taskId);
  if (!task) return;
  try {
    await perform(entry('move', task, body, placeFor(taskId, body.status || task.status, body)));
  } catch {
    // reported by the API client; the board below shows the server's order again
  }
  refreshTasks();
  renderBoard();
}

// --- drag and drop -------------------------------------------------------------------

let marker = null;

function clearDropMarker() {
  if (marker) marker.remove();
  marker = null;
  $$('.cards.drop-target').forEach((l) => l.classList.remove('drop-target'));
}

/** The card the drop would go before (null: the end), ignoring the dragged card. */
function cardAfterPointer(list, y) {
  const cards = $$('.card', list).filter((c) => c.dataset.id !== dragging);
  return cards.find((c) => {
    const box = c.getBoundingClientRect();
    return y < box.top + box.height / 2;
  }) || null;
}

function dragOver(e, list) {
  if (!dragging) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'move';
  if (!marker) marker = h('li', { class: 'drop-marker', 'aria-hidden': 'true' });
  $$('.cards.drop-target').forEach((l) => l !== list && l.classList.remove('drop-target'));
  list.classList.add('drop-target');
  const before = cardAfterPointer(list, e.clientY);
  if (before) list.insertBefore(marker, before);
  else list.append(marker);
}

function drop(e, list) {
  e.preventDefault();
  const taskId = e.dataTransfer.getData('text/plain') || dragging;
  if (!taskId) return;
  const before = cardAfterPointer(list, e.clientY);
  const cards = $$('.card', list).filter((c) => c.dataset.id !== taskId);
  const status = list.dataset.status;
  const body = { status };
  if (before) {
    const i = cards.indexOf(before);
    if (i > 0) body.after_id = cards[i - 1].id;
    else body.before_id = before.dataset.id;
  } else if (cards.length) {
    body.after_id = cards[cards.length - 1].id;
  }
  clearDropMarker();
  dragging = null;
  renderPending = false;
  const task = store.tasks.get(taskId);
  if (task && task.status === status && unchanged(task, body)) return;
  move(taskId, body);
}

function unchanged(task, body) {
  const order = tasksIn(task.status).map((t) => t.id);
  const i = order.indexOf(task.id);
  if (body.after_id) return order[i - 1] === body.after_id;
  if (body.before_id) return order[i + 1] === body.before_id;
  return order.length === 1;
}
