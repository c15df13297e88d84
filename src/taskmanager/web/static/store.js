// The open project's state, read from the replica (so a project opens at once, offline
// too) and following it as the sync changes it; the tasks shown are the replica's with
// the queued writes on top.

import { api } from './api.js';
import { between, newLocalId, overlay } from './outbox.js';
import { replica, saveTask, tasksOf } from './replica.js';

export const store = {
  me: null,
  projects: [],
  project: null, // the open project (with our role)
  tasks: new Map(),
  members: [],
  labels: [],
  matching: null, // ids of the tasks the board's filters select (null: no filter)
  listeners: new Set(),
};

export function canEdit() {
  return !!store.project && store.project.role !== 'viewer';
}

export function canManage() {
  return !!store.project && ['owner', 'admin'].includes(store.project.role);
}

/** what: 'tasks' | 'members' | 'labels' | 'project' | 'projects'; info: {taskId, remote, ...} */
export function changed(what, info = {}) {
  for (const fn of store.listeners) fn(what, info);
}

export function subscribe(fn) {
  store.listeners.add(fn);
}

/** The tasks of a column that the board shows: all of them, or those the filters select. */
export function shownIn(status) {
  const all = tasksIn(status);
  return store.matching ? all.filter((t) => store.matching.has(t.id)) : all;
}

export function tasksIn(status) {
  return [...store.tasks.values()]
    .filter((t) => t.status === status)
    .sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : a.id < b.id ? -1 : 1));
}

/** Keep the newest version of a task (a late echo never overwrites a newer response). */
export function putTask(task) {
  if (!saveTask(task)) return false;
  refreshTasks();
  return true;
}

/** Recompute the open project's tasks: the replica's, with the queued writes over them. */
export function refreshTasks() {
  store.tasks = store.project ? overlay(store.project.id, tasksOf(store.project.id), store.labels) : new Map();
}

/** A task made here, shown until the server has it (then its local id is replaced). */
export function localTask(body) {
  const byId = new Map(store.labels.map((l) => [l.id, l]));
  const { label_ids: labelIds = [], ...fields } = body;
  const now = new Date().toISOString();
  return {
    id: newLocalId(), project_id: store.project.id, title: '', description: '', status: 'todo',
    priority: 'none', due_at: null, remind_at: null, assignee_id: null, parent_id: null, recurrence: null,
    relations: [], created_by: store.me && store.me.id, created_at: now, updated_at: now,
    version: null, ...fields, labels: labelIds.filter((id) => byId.has(id)).map((id) => byId.get(id)),
  };
}

/** Where a card moved (or added) by `body` ({status?, before_id?, after_id?}) shows until
 * the server places it: a key between its new neighbours. */
export function placeFor(taskId, status, body = {}) {
  const column = tasksIn(status).filter((t) => t.id !== taskId);
  let i = column.length;
  if (body.after_id) i = column.findIndex((t) => t.id === body.after_id) + 1;
  else if (body.before_id) i = column.findIndex((t) => t.id === body.before_id);
  if (i < 0 || i > column.length) i = column.length;
  return between(i > 0 ? column[i - 1].position : null, i < column.length ? column[i].position : null);
}

/** The replica's projects, newest first like GET /projects, before the server answers. */
export function cachedProjects() {
  return [...replica.projects.values()].sort((a, b) =>
    a.created_at > b.created_at ? -1 : a.created_at < b.created_at ? 1 : a.id > b.id ? -1 : 1);
}

function nameIn(members, userId) {
  const m = (members || []).find((x) => x.user.id === userId);
  return m ? m.user.display_name : '';
}

/** A member of the open project, by id ('' if unknown). */
export function memberName(userId) {
  return nameIn(store.members, userId);
}

/** Anyone we share a project with: the replica's members of `projectId` first, then any. */
export function knownName(userId, projectId) {
  return nameIn(replica.members.get(projectId), userId)
    || [...replica.members.values()].map((members) => nameIn(members, userId)).find(Boolean)
    || '';
}

export function openProject(project) {
  const id = project.id;
  store.project = replica.projects.get(id) || project;
  store.members = replica.members.get(id) || [];
  store.labels = replica.labels.get(id) || [];
  store.matching = null;
  refreshTasks();
  changed('project');
  if (!replica.projects.has(id)) verifyProject(id);
}

export function closeProject() {
  store.project = null;
  store.tasks = new Map();
  store.lastSeq = null;
  store.matching = null;
  changed('project');
}

/**
 * A project opened by its address that the replica does not have (yet): ask the server,
 * and show its answer (name, our role) until the sync brings the project. The answer is
 * not put in the replica: which projects we have is the sync's business, and a bootstrap
 * read before the project existed, answered after this, would take it for a project we
 * lost and close it.
 */
async function verifyProject(projectId) {
  try {
    const project = await api.project(projectId);
    if (!store.project || store.project.id !== projectId || replica.projects.has(projectId)) return;
    store.project = project;
    changed('project');
  } catch (error) {
    if (error.status === 404 || error.status === 403) {
      replicaChanged(projectId, 'gone', { reason: 'This project is no longer available to you.' });
    }
  }
}

/**
 * The replica changed for `projectId` (sync.js); what: 'project' | 'tasks' | 'members' |
 * 'labels' | 'comments' | 'attachments' | 'gone'. The open project's view follows, then
 * its listeners.
 */
export function replicaChanged(projectId, what, info = {}) {
  if (!store.project || store.project.id !== projectId) return;
  if (what === 'gone') {
    closeProject();
    changed('gone', info);
    return;
  }
  const project = replica.projects.get(projectId);
  const roleChanged = !!project && project.role !== store.project.role;
  if (project) store.project = project;
  store.members = replica.members.get(projectId) || [];
  store.labels = replica.labels.get(projectId) || [];
  refreshTasks();
  if (what === 'labels') {
    changed('labels');
    changed('tasks', {});
  } else {
    changed(what, info);
  }
  if (roleChanged && what !== 'project') changed('role', { roleChanged });
}
