// Entry point: log in / register, the open project's view, and the wiring between the API,
// the live stream, the sync and its replica, the outbox, the store and the board (the
// project list is projects.js, the member and label panels panels.js).

import { accountSignedIn, accountSignedOut, handleLinkPage, initAccount, refreshInbox } from './account.js';
import { api, onWriteError, setCsrfToken } from './api.js';
import { $, toast } from './dom.js';
import { flash, initBoard, renderBoard } from './board.js';
import { initFilters, renderChoices, resetFilters, tasksChanged } from './filters.js';
import { Live } from './live.js';
import { connectionLost, initFollowing, onMessage, presenceFrame, projectShown } from './following.js';
import { initIntegrations } from './integrations.js';
import { dropLocal, dropUser, forgetUser, lastUser, rememberUser } from './localdb.js';
import { initPanels, renderLabels, renderMembers } from './panels.js';
import { hideMyWork, renderMyWork, showCalendarLink } from './mywork.js';
import {
  initNotifications, namesChanged, notificationsSignedIn, notificationsSignedOut, onNotification,
  refreshNotifications,
} from './notifications.js';
import { entry, flush, initOutbox, onOutboxChange, pending, perform } from './outbox.js';
import { initConflicts, renderOutboxState, setSyncing, showConflicts } from './conflicts.js';
import { renderPresence, setOpenTask } from './presence.js';
import { initProjects, loadProjects, projectJoined, projectsSignedOut, renderProjects } from './projects.js';
import { closeReplica, openReplica, replica } from './replica.js';
import * as S from './store.js';
import { connected, disconnected, initSync } from './sync.js';
import {
  attachmentsChanged, commentsChanged, initDialog, openNew, openTask, openTaskId,
  taskChangedRemotely,
} from './task-dialog.js';

const { store } = S;

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
      refreshNotifications(); // frames sent while we were away are not replayed
    }
  },
  onOpen: () => connected(live),
  onClose: () => {
    disconnected();
    connectionLost();
  },
  onMessage, // the sync's frames (following.js notes which projects presence may name)
  onNotification,
  onPresence: presenceFrame,
  onError: (msg) => {
    if (msg.code === 'rate_limited') return; // presence: the next announcement catches up
    toast(`Live updates: ${msg.message || msg.code}`);
  },
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

// A task to open once its project's board has loaded (a notification clicked elsewhere).
let pendingTaskId = null;

function openTaskIn(projectId, taskId) {
  if (store.project && store.project.id === projectId && store.tasks.has(taskId)) {
    openTask(taskId);
    return;
  }
  pendingTaskId = taskId;
  location.hash = `#/p/${projectId}`;
}

S.subscribe((what, info) => {
  if (pendingTaskId && (what === 'project' || what === 'tasks') && store.tasks.has(pendingTaskId)) {
    const taskId = pendingTaskId;
    pendingTaskId = null;
    setTimeout(() => openTask(taskId)); // after the board has rendered
  }
  if (what === 'tasks') {
    if (info.remote && info.taskId && !info.deleted) flash(info.taskId);
    if (info.remote && info.taskId) taskChangedRemotely(info.taskId, info.deleted);
    if (info.taskId) tasksChanged();
    renderBoard();
  } else if (what === 'project') {
    renderPresence();
    renderProjectView();
    projectShown(); // presence: we are here now (if the socket follows it already)
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
  } else if (what === 'attachments') {
    attachmentsChanged(info.taskId);
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
  notificationsSignedIn();
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
  notificationsSignedOut();
  pendingTaskId = null;
  live.stop();
  store.me = null;
  store.projects = [];
  projectsSignedOut();
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

// --- the open project --------------------------------------------------------------------

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
  $('#integrations-open').hidden = !S.canManage();
  $('#label-form').hidden = !editable;
  $('#export-json').href = `/api/v1/projects/${project.id}/export`;
  $('#export-csv').href = `/api/v1/projects/${project.id}/export?format=csv`;
  renderMembers();
  renderLabels();
  renderChoices();
  renderBoard();
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
  initPanels();
  $('#new-task').addEventListener('click', () => openNew('todo'));
  $('#calendar-link').addEventListener('click', showCalendarLink);
  initIntegrations();
  window.addEventListener('hashchange', route);
  initBoard({
    open: (taskId) => {
      openTask(taskId);
      setOpenTask(openTaskId());
    },
    quickAdd,
  });
  initDialog(() => {
    tasksChanged();
    renderBoard();
  });
  initFollowing(live);
  $('#task-dialog').addEventListener('close', () => setOpenTask(null));
  initFilters(renderBoard);
  initNotifications({ openTask: openTaskIn, invited: refreshInbox });
  initProjects({ signedOut });
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
    changed: (projectId, what, info) => {
      S.replicaChanged(projectId, what, info);
      // The bell names people from every project's members, open or not.
      if (what === 'members' || what === 'project') namesChanged();
    },
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
