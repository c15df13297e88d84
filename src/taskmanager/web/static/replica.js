// The replica: what the server last told us (projects, members, labels, tasks, how far the
// event stream was applied, the sync cursor) and our queued writes, in memory and in the
// user's local database. The board starts from it before any network answer; what the
// board shows is the replica with the queued writes laid over it (store.js, outbox.js).

import { openLocal } from './localdb.js';

export const replica = {
  userId: null,
  local: null,
  projects: new Map(), // id -> project (with our role)
  members: new Map(), // project id -> [{user, role}]
  labels: new Map(), // project id -> [label]
  tasks: new Map(), // id -> task, as the server last sent it
  seqs: new Map(), // project id -> last event seq applied
  cursor: null, // the /sync cursor (opaque)
  outbox: [], // queued writes, oldest first
};

function reset() {
  replica.projects = new Map();
  replica.members = new Map();
  replica.labels = new Map();
  replica.tasks = new Map();
  replica.seqs = new Map();
  replica.cursor = null;
  replica.outbox = [];
}

// Writes go to the database one batch after the other, in the order they were made.
let writing = Promise.resolve();

function persist(ops) {
  const local = replica.local;
  if (!local || !ops.length) return writing;
  writing = writing.then(() => local.write(ops)).catch((error) => console.error('local db', error));
  return writing;
}

let opening = null;

/** Load this user's replica (once: callers for the same user share the load). */
export function openReplica(userId) {
  if (replica.userId === userId && opening) return opening;
  closeReplica();
  replica.userId = userId;
  opening = load(userId);
  return opening;
}

async function load(userId) {
  const local = await openLocal(userId);
  const names = ['projects', 'members', 'labels', 'tasks', 'meta', 'outbox'];
  const [projects, members, labels, tasks, meta, outbox] = await Promise.all(names.map((n) => local.all(n)));
  if (replica.userId !== userId) {
    local.close(); // signed out (or someone else in) meanwhile
    return;
  }
  replica.local = local;
  replica.projects = new Map(projects.map((p) => [p.id, p]));
  replica.members = new Map(members.map((r) => [r.project_id, r.members]));
  replica.labels = new Map(labels.map((r) => [r.project_id, r.labels]));
  replica.tasks = new Map(tasks.map((t) => [t.id, t]));
  const values = Object.fromEntries(meta.map((m) => [m.key, m.value]));
  replica.seqs = new Map(Object.entries(values.seqs || {}));
  replica.cursor = values.cursor || null;
  replica.outbox = outbox.sort((a, b) => a.id - b.id);
}

export function closeReplica() {
  if (replica.local) replica.local.close();
  opening = null;
  replica.local = null;
  replica.userId = null;
  reset();
}

export function tasksOf(projectId) {
  return [...replica.tasks.values()].filter((t) => t.project_id === projectId);
}

/** Keep the newest version of a task (a late echo never overwrites a newer answer). */
export function saveTask(task) {
  const current = replica.tasks.get(task.id);
  if (current && current.version > task.version) return false;
  replica.tasks.set(task.id, task);
  persist([['put', 'tasks', task]]);
  return true;
}

export function removeTask(taskId) {
  if (!replica.tasks.delete(taskId)) return;
  persist([['delete', 'tasks', taskId]]);
}

export function saveProject(project) {
  replica.projects.set(project.id, project);
  persist([['put', 'projects', project]]);
}

/** Rows from GET /projects. Which projects we have is the sync's business (a list read
 * just before a join must not drop the project the sync has just added). */
export function saveProjects(projects) {
  const ops = [];
  for (const project of projects) {
    if (!replica.projects.has(project.id)) continue;
    replica.projects.set(project.id, project);
    ops.push(['put', 'projects', project]);
  }
  persist(ops);
}

export function saveMembers(projectId, members) {
  replica.members.set(projectId, members);
  persist([['put', 'members', { project_id: projectId, members }]]);
}

export function saveLabels(projectId, labels) {
  replica.labels.set(projectId, labels);
  persist([['put', 'labels', { project_id: projectId, labels }]]);
}

function seqsOp() {
  return ['put', 'meta', { key: 'seqs', value: Object.fromEntries(replica.seqs) }];
}

export function saveSeq(projectId, seq) {
  replica.seqs.set(projectId, seq);
  persist([seqsOp()]);
}

export function saveCursor(cursor) {
  replica.cursor = cursor;
  persist([['put', 'meta', { key: 'cursor', value: cursor }]]);
}

/** Everything at once (a /sync bootstrap): rows and cursor replaced in one transaction. */
export function saveEverything({ projects, members, labels, tasks }, cursor, seqs) {
  replica.projects = new Map(projects.map((p) => [p.id, p]));
  replica.members = new Map();
  replica.labels = new Map();
  for (const project of projects) {
    replica.members.set(project.id, []);
    replica.labels.set(project.id, []);
  }
  for (const m of members) {
    if (!replica.members.has(m.project_id)) replica.members.set(m.project_id, []);
    replica.members.get(m.project_id).push({ user: m.user, role: m.role });
  }
  for (const l of labels) {
    if (!replica.labels.has(l.project_id)) replica.labels.set(l.project_id, []);
    replica.labels.get(l.project_id).push(l);
  }
  replica.tasks = new Map(tasks.map((t) => [t.id, t]));
  replica.seqs = new Map(Object.entries(seqs || {}));
  replica.cursor = cursor;
  const ops = ['projects', 'members', 'labels', 'tasks'].map((s) => ['clear', s]);
  for (const p of projects) ops.push(['put', 'projects', p]);
  for (const [pid, list] of replica.members) ops.push(['put', 'members', { project_id: pid, members: list }]);
  for (const [pid, list] of replica.labels) ops.push(['put', 'labels', { project_id: pid, labels: list }]);
  for (const t of tasks) ops.push(['put', 'tasks', t]);
  ops.push(seqsOp(), ['put', 'meta', { key: 'cursor', value: cursor }]);
  persist(ops);
}

function forgetOps(projectId) {
  const ops = [['delete', 'projects', projectId], ['delete', 'members', projectId], ['delete', 'labels', projectId]];
  replica.projects.delete(projectId);
  replica.members.delete(projectId);
  replica.labels.delete(projectId);
  for (const task of tasksOf(projectId)) {
    replica.tasks.delete(task.id);
    ops.push(['delete', 'tasks', task.id]);
  }
  if (replica.seqs.delete(projectId)) ops.push(seqsOp());
  return ops;
}

/** A project we can no longer see: its rows go (queued writes to it cannot be sent). */
export function forgetProject(projectId) {
  const ops = forgetOps(projectId);
  const dropped = replica.outbox.filter((e) => e.project_id === projectId);
  replica.outbox = replica.outbox.filter((e) => e.project_id !== projectId);
  for (const e of dropped) ops.push(['delete', 'outbox', e.id]);
  persist(ops);
}

// --- the outbox's rows ---------------------------------------------------------------------

/** Store a queued write durably before the caller says "queued". */
export function addEntry(entry) {
  replica.outbox.push(entry);
  return persist([['put', 'outbox', entry]]);
}

export function saveEntries(entries) {
  return persist(entries.map((e) => ['put', 'outbox', e]));
}

export function removeEntry(id) {
  replica.outbox = replica.outbox.filter((e) => e.id !== id);
  return persist([['delete', 'outbox', id]]);
}
