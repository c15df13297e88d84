// Search and filters above the board. The matching is the list API's (q, assignee_id,
// priority, label_id), so the board and the API agree; the board keeps every task and
// shows only the matching ones, asking again when tasks change while a filter is on.

import { api } from './api.js';
import { $, h, PRIORITIES } from './dom.js';
import { store } from './store.js';

const TYPING_MS = 250;
let onChange = () => {};
let timer = null;
let asked = 0; // the newest query: an older answer arriving late is dropped

const form = () => $('#filters');

export function initFilters(changedCallback) {
  onChange = changedCallback;
  const select = form().elements.priority;
  select.append(...PRIORITIES.map((p) => h('option', { value: p, text: p })));
  form().addEventListener('input', () => refresh(TYPING_MS));
  form().addEventListener('submit', (e) => {
    e.preventDefault();
    refresh(0);
  });
  form().addEventListener('reset', () => setTimeout(() => refresh(0))); // after the reset
}

/** The filters in use, as list API parameters (empty ones left out). */
export function activeFilters() {
  const data = new FormData(form());
  const filters = {};
  for (const key of ['q', 'assignee_id', 'priority', 'label_id']) {
    const value = String(data.get(key) || '').trim();
    if (value) filters[key] = value;
  }
  return filters;
}

/** A new project: no filters, and the member and label choices of this one. */
export function resetFilters() {
  form().reset();
  asked += 1;
  clearTimeout(timer);
  store.matching = null;
  form().dataset.state = 'all';
  renderChoices();
}

/** Members or labels changed: keep the choices (and a still valid selection) current. */
export function renderChoices() {
  const { assignee_id: assignee, label_id: label } = form().elements;
  const dropped = [
    fill(assignee, 'Anyone', store.members.map((m) => [m.user.id, m.user.display_name])),
    fill(label, 'Any label', store.labels.map((l) => [l.id, l.name])),
  ];
  if (dropped.includes(true)) refresh(0); // the chosen member or label is gone
}

/** Replace the options; false, or true if the selected one no longer exists. */
function fill(select, anyText, choices) {
  const keep = select.value;
  select.replaceChildren(h('option', { value: '', text: anyText }),
    ...choices.map(([value, text]) => h('option', { value, text })));
  const still = choices.some(([value]) => value === keep);
  select.value = still ? keep : '';
  return !!keep && !still;
}

/** Tasks changed (live or ours): a filtered board asks the API which ones match now. */
export function tasksChanged() {
  if (store.matching) refresh(TYPING_MS);
}

export function refresh(delayMs) {
  clearTimeout(timer);
  form().dataset.state = 'loading'; // until the answer is shown (tests wait on it too)
  timer = setTimeout(run, delayMs);
}

async function run() {
  const project = store.project;
  if (!project) return;
  const filters = activeFilters();
  const mine = ++asked;
  if (!Object.keys(filters).length) {
    store.matching = null;
  } else {
    let found;
    try {
      found = await api.findTasks(project.id, filters);
    } catch {
      found = null; // e.g. offline: show everything rather than a wrong selection
    }
    if (mine !== asked || !store.project || store.project.id !== project.id) return;
    store.matching = found && new Set(found.map((t) => t.id));
  }
  form().dataset.state = store.matching ? 'filtered' : 'all';
  onChange();
}
