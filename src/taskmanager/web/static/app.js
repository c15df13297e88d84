// Entry point: log in / register, the project list, members and labels, and the wiring
// between the API, the live stream, the store and the board.

import { accountSignedIn, accountSignedOut, handleLinkPage, initAccount } from './account.js';
import { api, onWriteError, setCsrfToken } from './api.js';
import { $, h, toast } from './dom.js';
import { flash, initBoard, renderBoard } from './board.js';
import { initFilters, renderChoices, resetFilters, tasksChanged } from './filters.js';
import { Live } from './live.js';
import { dropLocal, dropUser, forgetUser, lastUser, rememberUser } from './localdb.js';
import { initPanels, renderLabels, renderMembers } from './panels.js';
import { hideMyWork, renderMyWork, showCalendarLink } from './mywork.js';
import { entry, flush, initOutbox, onOutboxChange, pending, perform } from './outbox.js';
import { initConflicts, renderOutboxState, setSyncing, showConflicts } from './conflicts.js';
import { closeReplica, openReplica, replica, saveProjects } from './replica.js';
import * as S from './store.js';
import { connected, disconnected, initSync, onFrame } from './sync.js';
import { commentsChanged, initDialog, openNew, openTask, taskChangedRemotely } from './task-dialog.js';

const { store } = S;

// A user added to a project learns of it from the project list: events are per project,
// and a project one is not yet a member of cannot be followed. The list is read again
// when the page regains focus or becomes visible, when the live connection comes back,
// and every PROJECTS_EVERY_MS while visible (one small GET).
const PROJECTS_EVERY_MS = 30000;
// Overdue is relative to now: cards are re-rendered this often to stay right.
const OVERDUE_EVERY_MS = 60000;

const live = new Live({
  onState: (state) => {
    const el = $('#connection-state');
    el.textContent = state;
    el.dataset.state = state;
    if (state === 'live' && store.me) {
      loadProjects();
      flush(); // the queued writes go as soon as we are back
    }
  },
  onOpen: () => connected(live),
  onClose: () => disconnected(),
  onMessage: (msg) => onFrame(msg),
  onError: (msg) => toast(`Live updates: ${msg.message || msg.code}`),
  onSessionEnded: () => signedOut('Your session ended; log in again.'),
});

onWriteError((error) => {
  if (error.status === 401) {
    signedOut('Your session ended; log in again.');
    return;
  }
  const why = error.status === 403 ? 'Not allowed' : 'Could not save';
  toast(`${why} (${error.status || 'offline'}): ${error.message}`);
});

// --- store changes -> view ---------------------------------------------------------------

S.subscribe((what, info) => {
  if (what === 'tasks') {
    if (info.remote && info.taskId && !info.deleted) flash(info.taskId);
    if (info.remote && info.taskId) taskChangedRemotely(info.taskId, info.deleted);
    if (info.taskId) tasksChanged();
    renderBoard();
  } else if (what === 'project') {
    renderProjectView();
  } else if (what === 'members') {
    renderMembers();
    renderChoices();
    renderBoard();
  } else if (what === 'labels') {
    renderLabels();
    renderChoices();
  } else if (what === 'role') {
    if (info.roleChanged) renderProjectView();
  } else if (what === 'comments') {
    commentsChanged(info.taskId);
  } else if (what === 'gone') {
    toast(info.reason);
    location.hash = '';
    loadProjects();
  }
});

// Queued writes: the board shows them at once and follows them as they are sent.
onOutboxChange((info) => {
  S.refreshTasks();
  if (info.taskId) tasksChanged();
  if (store.project) renderBoard();
  renderOutboxState();
});

// --- auth --------------------------------------------------------------------------------

let registering = false;

function setAuthMode(register) {
  registering = register;
  $('#tab-login').setAttribute('aria-selected', String(!register));
  $('#tab-register').setAttribute('aria-selected', String(register));
  $('#name-row').hidden = !register;
  $('#auth-form').elements.display_name.required = register;
  $('#auth-form').elements.password.autocomplete = register ? 'new-password' : 'current-password';
  $('#auth-submit').textContent = register ? 'Create account' : 'Log in';
  $('#auth-error').textContent = '';
}

async function submitAuth(e) {
  e.preventDefault();
  const form = e.target;
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  $('#auth-error').textContent = '';
  try {
    const user = registering
      ? await api.register({ email, password, display_name: form.elements.display_name.value.trim() })
      : await api.login({ email, password });
    setCsrfToken(user.csrf_token);
    form.reset();
    signedIn(user);
  } catch (error) {
    const detail = error.problem && error.problem.errors && error.problem.errors[0];
    $('#auth-error').textContent = detail ? `${error.message} (${detail.msg})` : error.message;
  }
}

let confirmed = false; // the server said who we are (not just the last user of this browser)

/** Show the board of `user` from the replica, before (or without) any network answer. */
async function startFromReplica(user) {
  if (replica.userId && replica.userId !== user.id) {
    // Someone else than the browser's last user: nothing of theirs stays on screen.
    await wipeReplica();
    S.closeProject();
    store.projects = [];
    store.me = null;
  }
  if (!store.me) store.me = user;
  await openReplica(user.id);
  if (replica.userId !== user.id) return; // the server named someone else meanwhile
  $('#user-name').textContent = user.display_name;
  $('#logout').hidden = false;
  $('#auth-view').hidden = true;
  $('#app-view').hidden = false;
  if (!store.projects.length) store.projects = S.cachedProjects();
  renderProjects();
  route();
  renderOutboxState();
}

async function signedIn(user) {
  confirmed = true;
  await startFromReplica(user);
  rememberUser(user);
  store.me = user;
  $('#user-name').textContent = user.display_name;
  dropLocal(user.id); // whoever used this browser before: their data goes
  live.start();
  loadProjects().then(route);
  accountSignedIn(user);
  showConflicts();
  flush();
}

/** Sign-out (or a session that ended): this user's local data goes with it. */
async function wipeReplica() {
  const userId = replica.userId;
  closeReplica();
  forgetUser();
  if (userId) await dropUser(userId);
}

function signedOut(message) {
  confirmed = false;
  wipeReplica();
  accountSignedOut();
  live.stop();
  store.me = null;
  store.projects = [];
  projectsLoaded = false;
  $('#project-list').replaceChildren();
  S.closeProject();
  setCsrfToken('');
  $('#user-name').textContent = '';
  $('#logout').hidden = true;
  $('#app-view').hidden = true;
  $('#auth-view').hidden = false;
  $('#project-title').textContent = '';
  setAuthMode(false);
  if (message) $('#auth-error').textContent = message;
}

async function logout() {
  const unsent = pending();
  if (unsent && !window.confirm(`${unsent} change(s) have not been sent yet and will be lost. Log out anyway?`)) return;
  live.stop(); // before the server ends the session (and closes the socket with 4401)
  try {
    await api.logout();
  } catch {
    // the session may already be gone
  }
  location.hash = '';
  signedOut('');
}

// --- projects ----------------------------------------------------------------------------

let projectsLoaded = false;

/** announce: toast a project someone else gave us access to (not one we just joined). */
async function loadProjects({ announce = true } = {}) {
  let projects;
  try {
    projects = await api.projects();
  } catch (error) {
    if (error.status === 401) signedOut('Your session ended; log in again.');
    else if (error.status !== 0) toast(error.message); // offline: the replica's list stays
    renderProjects();
    return;
  }
  saveProjects(projects);
  const known = new Set(store.projects.map((p) => p.id));
  const added = announce && projectsLoaded ? projects.filter((p) => !known.has(p.id) && p.role !== 'owner') : [];
  const same = JSON.stringify(projects) === JSON.stringify(store.projects);
  store.projects = projects;
  projectsLoaded = true;
  if (!same || !$('#project-list').childElementCount) renderProjects();
  if (added.length === 1) toast(`You now have access to ${added[0].name}.`, 'info');
}

function watchProjects() {
  const reload = () => {
    if (store.me && document.visibilityState === 'visible') loadProjects();
  };
  window.addEventListener('focus', reload);
  document.addEventListener('visibilitychange', reload);
  setInterval(reload, PROJECTS_EVERY_MS);
}

function renderProjects() {
  const current = store.project && store.project.id;
  $('#project-list').replaceChildren(...store.projects.map((p) => h('li', {},
    h('a', { href: `#/p/${p.id}`, class: p.id === current ? 'active' : '', 'aria-current': p.id === current ? 'page' : null },
      h('span', { text: p.name }), h('span', { class: 'role', text: p.role })))));
  if (!store.projects.length) {
    $('#project-list').append(h('li', { class: 'muted', text: 'No projects yet.' }));
  }
}

async function createProject(e) {
  e.preventDefault();
  const name = e.target.elements.name.value.trim();
  if (!name) return;
  try {
    const project = await api.createProject({ name });
    e.target.reset();
    await loadProjects();
    location.hash = `#/p/${project.id}`;
  } catch {
    // reported
  }
}

function route() {
  if (!store.me) return;
  if (location.hash === '#/my-work') {
    S.closeProject();
    $('#empty-state').hidden = true;
    renderMyWork();
    return;
  }
  hideMyWork();
  const match = /^#\/p\/([0-9a-f-]{36})$/.exec(location.hash);
  const id = match ? match[1] : null;
  if (store.project && store.project.id === id) return;
  if (!id) {
    S.closeProject();
    return;
  }
  const known = store.projects.find((p) => p.id === id);
  resetFilters();
  S.openProject(known || { id, name: '', role: 'viewer' });
  if (!known) loadProjects(); // e.g. a project we were just added to
}

function renderProjectView() {
  const project = store.project;
  const open = !!project;
  $('#empty-state').hidden = open;
  $('#board').hidden = !open;
  $('#board-bar').hidden = !open;
  $('#filters').hidden = !open;
  $('#members-panel').hidden = !open;
  $('#labels-panel').hidden = !open;
  $('#project-title').textContent = open ? project.name : '';
  document.title = open && project.name ? `${project.name} · Task Manager` : 'Task Manager';
  renderProjects();
  if (!open) {
    $('#board').replaceChildren();
    return;
  }
  const editable = S.canEdit();
  $('#role-badge').textContent = project.role;
  $('#readonly-note').hidden = editable;
  $('#new-task').hidden = !editable;
  $('#member-form').hidden = !S.canManage();
  $('#label-form').hidden = !editable;
  $('#export-json').href = `/api/v1/projects/${project.id}/export`;
  $('#export-csv').href = `/api/v1/projects/${project.id}/export?format=csv`;
  renderMembers();
  renderLabels();
  renderChoices();
  renderBoard();
}

/** After accepting an invitation: the project appears (and opens) without a reload. */
async function projectJoined(projectId) {
  await loadProjects({ announce: false }); // account.js said "You joined ..." already
  if (projectId) location.hash = `#/p/${projectId}`;
}

async function importFile(e) {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file) return;
  let data;
  try {
    data = JSON.parse(await file.text());
  } catch {
    toast('That file is not JSON.');
    return;
  }
  try {
    const project = await api.importProject(data);
    await loadProjects();
    location.hash = `#/p/${project.id}`;
  } catch {
    // reported (a 422 says where the file is wrong)
  }
}

// --- start -------------------------------------------------------------------------------

async function quickAdd(status, title) {
  const task = S.localTask({ title, status });
  try {
    await perform(entry('create', task, { title, status }, S.placeFor(task.id, status)));
  } catch {
    // reported
  }
  S.refreshTasks();
  tasksChanged();
  renderBoard();
}

/** A reload starts from the replica of whoever was signed in last; the server confirms. */
function whoAmI() {
  api.me().then(signedIn, (error) => {
    if (error.status === 0 && lastUser()) return; // offline: keep working from the replica
    signedOut('');
  });
}

function init() {
  $('#tab-login').addEventListener('click', () => setAuthMode(false));
  $('#tab-register').addEventListener('click', () => setAuthMode(true));
  $('#auth-form').addEventListener('submit', submitAuth);
  $('#logout').addEventListener('click', logout);
  $('#project-form').addEventListener('submit', createProject);
  initPanels();
  $('#new-task').addEventListener('click', () => openNew('todo'));
  $('#calendar-link').addEventListener('click', showCalendarLink);
  $('#import-file').addEventListener('change', importFile);
  window.addEventListener('hashchange', route);
  initBoard({ open: openTask, quickAdd });
  initDialog(() => {
    tasksChanged();
    renderBoard();
  });
  initFilters(renderBoard);
  watchProjects();
  setInterval(() => store.project && renderBoard(), OVERDUE_EVERY_MS);
  initAccount({
    projectJoined,
    signedOut,
    userChanged: (user) => { store.me = user; $('#user-name').textContent = user.display_name; },
    passwordChanged: (user) => setCsrfToken(user.csrf_token),
  });
  initOutbox({
    conflict: () => showConflicts(),
    refused: (e, error) => toast(`A change made offline was refused (${error.status}): ${error.message}`),
  });
  initConflicts();
  initSync({
    changed: S.replicaChanged,
    projectsChanged: () => {
      if (!store.me) return;
      if (navigator.onLine) loadProjects();
      else renderProjects();
    },
    syncing: setSyncing,
  });
  window.addEventListener('online', () => {
    if (store.me && !confirmed) whoAmI();
  });
  if ('serviceWorker' in navigator) {
    // The page itself offline: the board's files come from the cache when the network fails.
    navigator.serviceWorker.register('/sw.js').catch(() => null);
  }
  handleLinkPage().then((resetPage) => {
    if (resetPage) return;
    const last = lastUser();
    if (last) startFromReplica(last);
    whoAmI();
  });
}

init();
