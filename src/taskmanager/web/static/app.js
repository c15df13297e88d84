// Entry point: log in / register, the project list, members and labels, and the wiring
// between the API, the live stream, the store and the board.

import { accountSignedIn, accountSignedOut, handleLinkPage, initAccount, refreshInbox } from './account.js';
import { api, onWriteError, setCsrfToken } from './api.js';
import { $, h, toast } from './dom.js';
import { flash, initBoard, renderBoard } from './board.js';
import { initFilters, renderChoices, resetFilters, tasksChanged } from './filters.js';
import { Live } from './live.js';
import { initIntegrations } from './integrations.js';
import { hideMyWork, renderMyWork, showCalendarLink } from './mywork.js';
import {
  initNotifications, notificationsSignedIn, notificationsSignedOut, onNotification, refreshNotifications,
} from './notifications.js';
import { announce, clearPresence, initPresence, onPresence, renderPresence, setOpenTask } from './presence.js';
import * as S from './store.js';
import {
  attachmentsChanged, commentsChanged, initDialog, openNew, openTask, openTaskId,
  taskChangedRemotely,
} from './task-dialog.js';

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
      refreshNotifications(); // frames sent while we were away are not replayed
    }
    if (state !== 'live') clearPresence();
  },
  onEvent: (msg) => S.onEvent(msg, live),
  onSubscribed: (msg) => {
    S.onSubscribed(msg, live);
    announce();
  },
  onResync: (msg) => S.onResync(msg, live),
  onNotification,
  onPresence: (msg) => {
    if (onPresence(msg)) renderBoard();
  },
  onError: (msg) => {
    if (msg.code === 'rate_limited') return; // presence: the next announcement catches up
    toast(`Live updates: ${msg.message || msg.code}`);
  },
  onSessionEnded: () => signedOut('Your session ended; log in again.'),
  afterSeq: (projectId) => (store.project && store.project.id === projectId ? store.lastSeq : null),
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

function signedIn(user) {
  store.me = user;
  $('#user-name').textContent = user.display_name;
  $('#logout').hidden = false;
  $('#auth-view').hidden = true;
  $('#app-view').hidden = false;
  live.start();
  loadProjects().then(route);
  accountSignedIn(user);
  notificationsSignedIn();
}

function signedOut(message) {
  accountSignedOut();
  notificationsSignedOut();
  pendingTaskId = null;
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
    else toast(error.message);
    renderProjects();
    return;
  }
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
    live.follow(null);
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
    live.follow(null);
    return;
  }
  const known = store.projects.find((p) => p.id === id);
  resetFilters();
  S.openProject(known || { id, name: '', role: 'viewer' });
  live.follow(id);
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

// --- members and labels ------------------------------------------------------------------

function renderMembers() {
  const manage = S.canManage();
  $('#member-list').replaceChildren(...store.members.map((m) => h('li', { class: 'member', dataset: { userId: m.user.id } },
    h('span', { class: 'member-name', text: m.user.display_name, title: m.user.email }),
    h('span', { class: `role role-${m.role}`, text: m.role }),
    manage && m.role !== 'owner' && m.user.id !== store.me.id
      ? h('button', { type: 'button', class: 'link', 'aria-label': `Remove ${m.user.display_name}`, text: '×',
        onclick: () => removeMember(m) })
      : null)));
}

async function removeMember(member) {
  if (!window.confirm(`Remove ${member.user.display_name} from this project?`)) return;
  try {
    await api.removeMember(store.project.id, member.user.id);
  } catch {
    // reported
  }
}

async function invite(e) {
  e.preventDefault();
  const form = e.target;
  const email = form.elements.email.value.trim();
  try {
    await api.invite(store.project.id, { email, role: form.elements.role.value });
    form.reset();
    toast(`Invitation sent to ${email}.`, 'info');
  } catch {
    // reported
  }
}

/** After accepting an invitation: the project appears (and opens) without a reload. */
async function projectJoined(projectId) {
  await loadProjects({ announce: false }); // account.js said "You joined ..." already
  if (projectId) location.hash = `#/p/${projectId}`;
}

function renderLabels() {
  $('#label-list').replaceChildren(...store.labels.map((l) => {
    const chip = h('li', { class: 'chip', text: l.name });
    chip.style.setProperty('--chip', l.color);
    return chip;
  }));
}

async function addLabel(e) {
  e.preventDefault();
  const form = e.target;
  try {
    await api.createLabel(store.project.id, { name: form.elements.name.value.trim(), color: form.elements.color.value });
    form.elements.name.value = '';
  } catch {
    // reported
  }
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
  try {
    S.putTask(await api.createTask(store.project.id, { title, status }));
    tasksChanged();
    renderBoard();
  } catch {
    // reported
  }
}

function init() {
  $('#tab-login').addEventListener('click', () => setAuthMode(false));
  $('#tab-register').addEventListener('click', () => setAuthMode(true));
  $('#auth-form').addEventListener('submit', submitAuth);
  $('#logout').addEventListener('click', logout);
  $('#project-form').addEventListener('submit', createProject);
  $('#member-form').addEventListener('submit', invite);
  $('#label-form').addEventListener('submit', addLabel);
  $('#new-task').addEventListener('click', () => openNew('todo'));
  $('#calendar-link').addEventListener('click', showCalendarLink);
  initIntegrations();
  $('#import-file').addEventListener('change', importFile);
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
  initPresence(live);
  $('#task-dialog').addEventListener('close', () => setOpenTask(null));
  initFilters(renderBoard);
  initNotifications({ openTask: openTaskIn, invited: refreshInbox });
  watchProjects();
  setInterval(() => store.project && renderBoard(), OVERDUE_EVERY_MS);
  initAccount({
    projectJoined,
    signedOut,
    userChanged: (user) => { store.me = user; $('#user-name').textContent = user.display_name; },
    passwordChanged: (user) => setCsrfToken(user.csrf_token),
  });
  handleLinkPage().then((resetPage) => {
    if (!resetPage) api.me().then(signedIn, () => signedOut(''));
  });
}

init();
