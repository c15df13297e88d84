// The open project's state, and the rules for applying the event stream to it: in seq
// order, each event once, a fresh snapshot when the server says we are too far behind.
// The state comes from the replica (so a project opens at once, offline too) and every
// change goes back into it; the tasks shown are the replica's with queued writes on top.

import { api, isOwnEcho } from './api.js';
import { between, newLocalId, overlay } from './outbox.js';
import {
  forgetProject, removeTask, replica, saveLabels, saveMembers, saveProject, saveSeq, saveSnapshot,
  saveTask, tasksOf,
} from './replica.js';

export const store = {
  me: null,
  projects: [],
  project: null, // the open project (with our role)
  tasks: new Map(),
  members: [],
  labels: [],
  lastSeq: null, // last event applied (null: no snapshot yet)
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

export function dropTask(taskId) {
  removeTask(taskId);
  refreshTasks();
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
    priority: 'none', due_at: null, assignee_id: null, parent_id: null, recurrence: null,
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

/** The projects as last listed (created first), for a start before the server answers. */
export function cachedProjects() {
  return [...replica.projects.values()].sort((a, b) =>
    a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1);
}

export function memberName(userId) {
  const m = store.members.find((x) => x.user.id === userId);
  return m ? m.user.display_name : '';
}

export function openProject(project) {
  const id = project.id;
  store.project = replica.projects.get(id) || project;
  store.members = replica.members.get(id) || [];
  store.labels = replica.labels.get(id) || [];
  // Known locally: resume the stream after what we have instead of a snapshot.
  store.lastSeq = replica.seqs.has(id) ? replica.seqs.get(id) : null;
  store.matching = null;
  refreshTasks();
  changed('project');
}

export function closeProject() {
  store.project = null;
  store.tasks = new Map();
  store.lastSeq = null;
  store.matching = null;
  changed('project');
}

async function loadSnapshot(projectId, seq) {
  const [project, tasks, members, labels] = await Promise.all([
    api.project(projectId),
    api.tasks(projectId),
    api.members(projectId),
    api.labels(projectId),
  ]);
  if (!store.project || store.project.id !== projectId) return;
  saveSnapshot(projectId, { project, tasks, members, labels }, seq);
  store.project = project;
  store.members = members;
  store.labels = labels;
  store.lastSeq = seq;
  refreshTasks();
  changed('project');
}

function gone(projectId, reason) {
  forgetProject(projectId);
  closeProject();
  changed('gone', { reason });
}

// Every stream message is handled on one chain, one at a time, in arrival order: a
// snapshot being loaded holds back the events behind it instead of racing them.
let chain = Promise.resolve();
let waitingForResume = false; // after a gap: ignore the rest until we have resubscribed

function enqueue(fn) {
  chain = chain.then(fn).catch((error) => console.error(error));
  return chain;
}

/** `subscribed`: the first one for this project starts from a snapshot taken after it. */
export function onSubscribed(msg, live) {
  return enqueue(async () => {
    waitingForResume = false;
    if (store.lastSeq === null) await snapshot(msg.seq, live, false);
  });
}

/** `resync_required`: we are older than the retained log; snapshot, then follow from seq. */
export function onResync(msg, live) {
  return enqueue(() => snapshot(msg.seq, live, true));
}

export function onEvent(msg, live) {
  return enqueue(() => handleEvent(msg, live));
}

async function snapshot(seq, live, resubscribe) {
  const projectId = store.project && store.project.id;
  if (!projectId) return;
  try {
    await loadSnapshot(projectId, seq);
  } catch (error) {
    if (error.status === 404 || error.status === 403) {
      gone(projectId, 'This project is no longer available to you.');
    } else {
      waitingForResume = true;
      live.restart();
    }
    return;
  }
  if (resubscribe) live.subscribe();
}

async function handleEvent(msg, live) {
  if (!store.project || msg.project_id !== store.project.id) return;
  if (store.lastSeq === null || waitingForResume) return; // the snapshot/replay covers it
  if (msg.seq <= store.lastSeq) return; // already applied (replay overlap)
  if (msg.seq !== store.lastSeq + 1) {
    // A gap should never happen; resume from what we have rather than skip anything.
    waitingForResume = true;
    live.restart();
    return;
  }
  store.lastSeq = msg.seq;
  saveSeq(msg.project_id, msg.seq);
  const own = isOwnEcho(msg.request_id);
  await apply(msg, !own);
}

async function apply(msg, remote) {
  const data = msg.data || {};
  const projectId = store.project.id;
  switch (msg.name) {
    case 'task.created':
    case 'task.updated':
    case 'task.moved':
      if (putTask(data)) changed('tasks', { taskId: data.id, remote, name: msg.name });
      break;
    case 'task.deleted':
      dropTask(data.id);
      changed('tasks', { taskId: data.id, remote, deleted: true, name: msg.name });
      break;
    case 'label.created':
    case 'label.updated':
    case 'label.deleted':
      store.labels = await api.labels(projectId);
      saveLabels(projectId, store.labels);
      refreshTaskLabels(projectId);
      changed('labels');
      changed('tasks', {});
      break;
    case 'member.added':
    case 'member.updated':
    case 'member.removed':
    case 'project.updated':
      await refreshMembership(projectId);
      break;
    case 'project.deleted':
      gone(projectId, 'This project was deleted.');
      break;
    case 'comment.created':
    case 'comment.updated':
    case 'comment.deleted':
      changed('comments', { taskId: data.task_id, remote });
      break;
    default:
      break;
  }
}

function refreshTaskLabels(projectId) {
  const byId = new Map(store.labels.map((l) => [l.id, l]));
  for (const task of tasksOf(projectId)) {
    saveTask({
      ...task,
      labels: task.labels
        .filter((l) => byId.has(l.id))
        .map((l) => ({ id: l.id, name: byId.get(l.id).name, color: byId.get(l.id).color })),
    });
  }
  refreshTasks();
}

async function refreshMembership(projectId) {
  try {
    const [project, members] = await Promise.all([api.project(projectId), api.members(projectId)]);
    if (!store.project || store.project.id !== projectId) return;
    const roleChanged = project.role !== store.project.role;
    store.project = project;
    store.members = members;
    saveProject(project);
    saveMembers(projectId, members);
    changed('members');
    changed('role', { roleChanged });
  } catch (error) {
    if (error.status === 404 || error.status === 403) {
      gone(projectId, 'You are no longer a member of this project.');
    }
  }
}
