// Keeping the replica up to date: on every (re)connection GET /sync from the stored cursor
// (a bootstrap when there is none, or when the server answers 410 resync_required), then
// `subscribe_all` on the WebSocket from the cursor that left us with, whose frames (events,
// projects added whole or removed, fresh cursors) are applied as they come. Everything runs
// on one chain, in arrival order, so a frame never overtakes the pull before it.

import { api, isOwnEcho } from './api.js';
import {
  forgetProject, removeTask, replica, saveCursor, saveEverything, saveLabels, saveMembers,
  saveProject, saveSeq, saveTask, tasksOf,
} from './replica.js';

let hooks = { changed: () => {}, projectsChanged: () => {}, syncing: () => {} };
let chain = Promise.resolve();
let generation = 0; // bumped by every new connection: work of an older one is dropped

/** hooks: changed(projectId, what, info) for the view; projectsChanged(); syncing(bool). */
export function initSync(options) {
  hooks = options;
}

function enqueue(fn) {
  chain = chain.then(fn).catch((error) => console.error('sync', error));
  return chain;
}

/** The WebSocket is open: catch up over HTTP, then follow everything from there. */
export function connected(live) {
  generation += 1;
  adding = null; // half a project from the last connection: it comes whole again
  const mine = generation;
  return enqueue(async () => {
    if (mine !== generation || !replica.local) return;
    hooks.syncing(true);
    try {
      await pull(mine);
    } catch (error) {
      if (error.status !== 401) live.retryLater(); // offline again, or the server failed
      return;
    } finally {
      hooks.syncing(false);
    }
    if (mine !== generation) return;
    const message = { type: 'subscribe_all' };
    if (replica.cursor) {
      message.cursor = replica.cursor;
      // The events applied since that cursor came: not sent again.
      if (replica.seqs.size) message.after = Object.fromEntries(replica.seqs);
    }
    if (live.send(message)) live.settled();
  });
}

/** The connection dropped: frames still queued for it no longer count. */
export function disconnected() {
  generation += 1;
  adding = null;
}

export function onFrame(msg) {
  const mine = generation;
  return enqueue(() => (mine === generation && replica.local ? frame(msg) : null));
}

// --- GET /sync ------------------------------------------------------------------------

async function pull(mine) {
  let cursor = replica.cursor;
  let boot = cursor ? null : { projects: [], members: [], labels: [], tasks: [] };
  for (;;) {
    let page;
    try {
      page = await api.sync(cursor);
    } catch (error) {
      // Too old for the retained log (410), or not ours / unreadable (422): start over.
      if (boot || (error.status !== 410 && error.status !== 422)) throw error;
      cursor = null;
      boot = { projects: [], members: [], labels: [], tasks: [] };
      continue;
    }
    if (mine !== generation) return;
    if (boot) {
      for (const key of Object.keys(boot)) boot[key].push(...((page.snapshot && page.snapshot[key]) || []));
    } else {
      applyDelta(page);
      saveCursor(page.cursor);
    }
    cursor = page.cursor;
    if (!page.has_more) break;
  }
  if (boot) {
    // Replaced in one go (what the board showed stays until then).
    const before = [...replica.projects.keys()];
    saveEverything(boot, cursor, {});
    for (const id of before) {
      if (!replica.projects.has(id)) hooks.changed(id, 'gone', { reason: 'This project is no longer available to you.' });
    }
    hooks.projectsChanged();
    for (const id of replica.projects.keys()) hooks.changed(id, 'project');
  }
}

function applyDelta(page) {
  for (const id of page.projects.removed) gone(id);
  for (const id of page.projects.added) clearProject(id);
  if (page.snapshot) addRows(page.snapshot);
  for (const event of page.events) applyEvent(event);
  if (page.projects.added.length || page.projects.removed.length) hooks.projectsChanged();
  for (const id of page.projects.added) hooks.changed(id, 'project');
}

// --- rows and events ------------------------------------------------------------------

const byEmail = (a, b) => (a.user.email < b.user.email ? -1 : a.user.email > b.user.email ? 1 : 0);
const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1);

/** A project about to arrive whole: what we had of it goes first. */
function clearProject(projectId) {
  for (const task of tasksOf(projectId)) removeTask(task.id);
  saveMembers(projectId, []);
  saveLabels(projectId, []);
}

/** Snapshot rows ({projects, members, labels, tasks}, each possibly missing). */
function addRows(rows, projectId = null) {
  for (const project of rows.projects || []) saveProject(project);
  const grouped = (list, into) => {
    const out = new Map();
    for (const row of list || []) {
      const pid = row.project_id || projectId;
      if (!out.has(pid)) out.set(pid, [...(into.get(pid) || [])]);
      out.get(pid).push(row);
    }
    return out;
  };
  for (const [pid, list] of grouped(rows.members, replica.members)) {
    saveMembers(pid, list.map((m) => ({ user: m.user, role: m.role })).sort(byEmail));
  }
  for (const [pid, list] of grouped(rows.labels, replica.labels)) saveLabels(pid, list.sort(byName));
  for (const task of rows.tasks || []) saveTask(task);
}

function gone(projectId, reason = 'You are no longer a member of this project.') {
  const known = replica.projects.has(projectId);
  forgetProject(projectId);
  if (known) hooks.changed(projectId, 'gone', { reason });
}

/** One event into the replica (each once: the seq of its project says where we are). */
function applyEvent(msg) {
  const pid = msg.project_id;
  const last = replica.seqs.get(pid);
  if (last !== undefined && msg.seq <= last) return;
  saveSeq(pid, msg.seq);
  const remote = !isOwnEcho(msg.request_id);
  const data = msg.data || {};
  switch (msg.name) {
    case 'task.created':
    case 'task.updated':
    case 'task.moved':
      if (saveTask(data)) hooks.changed(pid, 'tasks', { taskId: data.id, remote, name: msg.name });
      break;
    case 'task.deleted':
      removeTask(data.id);
      hooks.changed(pid, 'tasks', { taskId: data.id, remote, deleted: true, name: msg.name });
      break;
    case 'label.created':
    case 'label.updated':
    case 'label.deleted':
      labelChanged(pid, data, msg.name === 'label.deleted');
      break;
    case 'member.added':
    case 'member.updated':
    case 'member.removed':
      memberChanged(pid, data, msg.name === 'member.removed');
      break;
    case 'project.updated': {
      const mine = replica.projects.get(pid);
      saveProject({ ...(mine || {}), ...data, role: mine ? mine.role : data.role });
      hooks.changed(pid, 'project');
      hooks.projectsChanged();
      break;
    }
    case 'project.deleted':
      gone(pid, 'This project was deleted.');
      hooks.projectsChanged();
      break;
    case 'comment.created':
    case 'comment.updated':
    case 'comment.deleted':
      hooks.changed(pid, 'comments', { taskId: data.task_id, remote });
      break;
    case 'attachment.created':
    case 'attachment.deleted':
      hooks.changed(pid, 'attachments', { taskId: data.task_id, remote });
      break;
    default:
      break;
  }
}

function labelChanged(pid, label, deleted) {
  const labels = (replica.labels.get(pid) || []).filter((l) => l.id !== label.id);
  if (!deleted) labels.push(label);
  saveLabels(pid, labels.sort(byName));
  // Cards carry their labels' names and colours: keep them in step.
  const byId = new Map(labels.map((l) => [l.id, l]));
  for (const task of tasksOf(pid)) {
    if (!task.labels.some((l) => l.id === label.id)) continue;
    saveTask({
      ...task,
      labels: task.labels.filter((l) => byId.has(l.id))
        .map((l) => ({ id: l.id, name: byId.get(l.id).name, color: byId.get(l.id).color })),
    });
  }
  hooks.changed(pid, 'labels');
}

function memberChanged(pid, data, removed) {
  const userId = removed ? data.user_id : data.user.id;
  const members = (replica.members.get(pid) || []).filter((m) => m.user.id !== userId);
  if (!removed) members.push({ user: data.user, role: data.role });
  saveMembers(pid, members.sort(byEmail));
  const project = replica.projects.get(pid);
  if (project && userId === replica.userId && !removed && project.role !== data.role) {
    saveProject({ ...project, role: data.role });
    hooks.projectsChanged();
  }
  hooks.changed(pid, 'members');
}

// --- WebSocket frames (subscribe_all) -------------------------------------------------

// A project sent whole (`project_added`, then its `snapshot` frames) is gathered and put in
// the replica in one step once its snapshot is complete, i.e. at the next frame about it or
// the cursor frame that follows it: the board never shows it emptied and half-filled again,
// and an edit made meanwhile is not laid over rows that are about to be replaced.
let adding = null; // { projectId, seq, rows: {projects, members, labels, tasks} }

function finishAdding() {
  const { projectId, seq, rows } = adding;
  adding = null;
  clearProject(projectId);
  addRows(rows, projectId);
  saveSeq(projectId, seq);
  if (rows.projects.length) hooks.projectsChanged();
  hooks.changed(projectId, 'project');
}

function frame(msg) {
  if (adding) {
    if (msg.type === 'snapshot' && msg.project_id === adding.projectId) {
      for (const key of Object.keys(adding.rows)) adding.rows[key].push(...(msg[key] || []));
      return;
    }
    if (msg.type !== 'event' || msg.project_id === adding.projectId) finishAdding();
  }
  switch (msg.type) {
    case 'event':
      applyEvent(msg);
      break;
    case 'cursor':
      saveCursor(msg.cursor);
      break;
    case 'project_added':
      // Joined (or too far behind to replay): the project comes whole, then its events.
      adding = {
        projectId: msg.project_id,
        seq: msg.seq,
        rows: { projects: [], members: [], labels: [], tasks: [] },
      };
      break;
    case 'snapshot':
      addRows(msg, msg.project_id);
      if (msg.projects) hooks.projectsChanged();
      hooks.changed(msg.project_id, msg.projects ? 'project' : msg.members ? 'members' : msg.labels ? 'labels' : 'tasks');
      break;
    case 'project_removed':
      gone(msg.project_id);
      hooks.projectsChanged();
      break;
    default:
      break;
  }
}
