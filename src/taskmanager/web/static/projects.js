// The sidebar's project list: read from GET /projects (the replica's copy until it answers,
// and when offline), re-read when the page regains focus and every PROJECTS_EVERY_MS, a
// toast for a project someone gave us; creating and importing a project.

import { api } from './api.js';
import { $, h, toast } from './dom.js';
import { saveProjects } from './replica.js';
import { store } from './store.js';

// A user added to a project is told by the sync (subscribe_all sends the project whole);
// the list is also read again when the page regains focus or becomes visible, when the
// live connection comes back, and every PROJECTS_EVERY_MS while visible (one small GET).
const PROJECTS_EVERY_MS = 30000;

let hooks = { signedOut: () => {} };
let projectsLoaded = false;

/** hooks: signedOut(message) when the session turns out to have ended. */
export function initProjects(options) {
  hooks = options;
  $('#project-form').addEventListener('submit', createProject);
  $('#import-file').addEventListener('change', importFile);
  const reload = () => {
    if (store.me && document.visibilityState === 'visible') loadProjects();
  };
  window.addEventListener('focus', reload);
  document.addEventListener('visibilitychange', reload);
  setInterval(reload, PROJECTS_EVERY_MS);
}

/** Signed out: the next sign-in's first list announces nothing. */
export function projectsSignedOut() {
  projectsLoaded = false;
  $('#project-list').replaceChildren();
}

/** announce: toast a project someone else gave us access to (not one we just joined). */
export async function loadProjects({ announce = true } = {}) {
  let projects;
  try {
    projects = await api.projects();
  } catch (error) {
    if (error.status === 401) hooks.signedOut('Your session ended; log in again.');
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

export function renderProjects() {
  const current = store.project && store.project.id;
  $('#project-list').replaceChildren(...store.projects.map((p) => h('li', {},
    h('a', { href: `#/p/${p.id}`, class: p.id === current ? 'active' : '', 'aria-current': p.id === current ? 'page' : null },
      h('span', { text: p.name }), h('span', { class: 'role', text: p.role })))));
  if (!store.projects.length) {
    $('#project-list').append(h('li', { class: 'muted', text: 'No projects yet.' }));
  }
}

/** After accepting an invitation: the project appears (and opens) without a reload. */
export async function projectJoined(projectId) {
  await loadProjects({ announce: false }); // account.js said "You joined ..." already
  if (projectId) location.hash = `#/p/${projectId}`;
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
