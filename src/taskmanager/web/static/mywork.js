// "My work": the tasks assigned to me across all my projects (GET /tasks?assignee=me),
// due first, with the calendar feed link.

import { api } from './api.js';
import { $, formatDate, h, isOverdue, toast } from './dom.js';
import { store } from './store.js';

export async function renderMyWork() {
  const view = $('#my-work');
  view.hidden = false;
  const list = $('#my-work-list');
  list.replaceChildren(h('li', { class: 'muted', text: 'Loading…' }));
  let tasks;
  try {
    tasks = await api.myWork();
  } catch (error) {
    toast(error.message);
    return;
  }
  let names = new Map(store.projects.map((p) => [p.id, p.name]));
  // The sidebar's list may predate a project shared or created since: ask once more.
  if (tasks.some((t) => !names.has(t.project_id))) {
    try {
      names = new Map((await api.projects()).map((p) => [p.id, p.name]));
    } catch {
      // keep the names we have; the titles still link to their boards
    }
  }
  list.replaceChildren(...tasks.map((t) => h('li', { class: `work-item${isOverdue(t) ? ' overdue' : ''}`, dataset: { id: t.id } },
    h('a', { href: `#/p/${t.project_id}`, class: 'work-title', text: t.title }),
    h('span', { class: 'work-project', text: names.get(t.project_id) || '' }),
    h('span', { class: `work-status status-${t.status}`, text: t.status.replace('_', ' ') }),
    t.due_at ? h('time', { datetime: t.due_at, text: `due ${formatDate(t.due_at)}` }) : null)));
  if (!tasks.length) list.append(h('li', { class: 'muted', text: 'Nothing is assigned to you.' }));
}

export function hideMyWork() {
  $('#my-work').hidden = true;
}

export async function showCalendarLink() {
  try {
    const { url } = await api.calendarFeed();
    const field = $('#calendar-url');
    field.value = url;
    field.hidden = false;
    field.select();
  } catch { /* reported */ }
}
