// Account pages and panels: forgot / reset password, the links mails point to
// (/reset-password, /verify-email, /invitations, each with #token=...), the profile
// dialog (with the notification e-mail settings) and the invitations inbox.

import { api } from './api.js';
import { $, h, toast } from './dom.js';

const PENDING_INVITE = 'tm-pending-invitation';
const INBOX_POLL_MS = 15000;
let hooks = null;
let me = null;
let inboxTimer = null;

/** The token of a mail link, read from the fragment (which never reaches the server). */
function linkToken() {
  const match = /^#token=([A-Za-z0-9_-]+)$/.exec(location.hash);
  return match ? match[1] : null;
}

/** Back to the board's own address, without the token (not kept in history). */
function leaveLinkPage() {
  history.replaceState(null, '', '/');
}

function problemText(error) {
  const detail = error.problem && error.problem.errors && error.problem.errors[0];
  return detail ? `${error.message} (${detail.msg})` : error.message;
}

function note(text) {
  $('#auth-note').textContent = text;
}

function showAuthForm(which) {
  $('#auth-form').hidden = which !== 'login';
  $('#forgot-form').hidden = which !== 'forgot';
  $('#reset-form').hidden = which !== 'reset';
  document.querySelector('.tabs').hidden = which !== 'login';
}

// --- forgot and reset ---------------------------------------------------------------------

async function sendReset(e) {
  e.preventDefault();
  const email = e.target.elements.email.value.trim();
  try {
    await api.requestReset({ email });
    e.target.reset();
    showAuthForm('login');
    note('If that address has an account, a link to reset the password is on its way.');
  } catch (error) {
    note(problemText(error));
  }
}

async function confirmReset(e, token) {
  e.preventDefault();
  $('#reset-error').textContent = '';
  try {
    await api.confirmReset({ token, new_password: e.target.elements.new_password.value });
    e.target.reset();
    leaveLinkPage();
    showAuthForm('login');
    note('Your password was changed. Log in with the new one.');
  } catch (error) {
    $('#reset-error').textContent = error.status === 400
      ? 'This link is invalid, was already used or has expired. Ask for a new one.'
      : problemText(error);
  }
}

// --- link pages -----------------------------------------------------------------------------

/**
 * Handles the page a mail linked to, before the usual start. Returns true when the page
 * is the reset form (the board then stays on the auth view, logged in or not).
 */
export async function handleLinkPage() {
  const page = location.pathname.replace(/\/+$/, '');
  const token = linkToken();
  if (page === '/reset-password' && token) {
    $('#auth-view').hidden = false;
    showAuthForm('reset');
    $('#reset-form').onsubmit = (e) => confirmReset(e, token);
    return true;
  }
  if (page === '/verify-email' && token) {
    leaveLinkPage();
    try {
      await api.verifyEmail(token);
      toast('Your e-mail address is verified.', 'info');
      note('Your e-mail address is verified.');
    } catch (error) {
      toast(error.status === 400 ? 'This verification link is invalid or expired.' : error.message);
    }
  } else if (page === '/invitations' && token) {
    sessionStorage.setItem(PENDING_INVITE, token);
    leaveLinkPage();
    note('Log in (or register) with the invited e-mail address to accept the invitation.');
  }
  return false;
}

async function acceptPendingInvitation() {
  const token = sessionStorage.getItem(PENDING_INVITE);
  if (!token) return;
  try {
    const membership = await api.acceptInvitation({ token });
    sessionStorage.removeItem(PENDING_INVITE);
    toast(`You joined as ${membership.role}.`, 'info');
    await hooks.projectJoined();
  } catch (error) {
    if (error.status === 403) {
      toast('That invitation is for another e-mail address, or yours is not verified yet.');
    } else {
      sessionStorage.removeItem(PENDING_INVITE);
      toast(error.status === 400 ? 'That invitation link is invalid or expired.' : error.message);
    }
  }
}

// --- invitations inbox ----------------------------------------------------------------------

export async function refreshInbox() {
  if (!me) return;
  let invitations = [];
  try {
    invitations = await api.myInvitations();
  } catch {
    return; // offline: try again at the next tick
  }
  $('#invitations-panel').hidden = invitations.length === 0;
  $('#invitation-list').replaceChildren(...invitations.map((inv) => h('li', { class: 'invitation', dataset: { id: inv.id } },
    h('span', { text: `${inv.project_name} (${inv.role})` }),
    h('button', { type: 'button', text: 'Accept', onclick: () => answer(inv, true) }),
    h('button', { type: 'button', class: 'link', text: 'Decline', onclick: () => answer(inv, false) }))));
}

async function answer(invitation, accept) {
  try {
    if (accept) {
      await api.acceptInvitation({ invitation_id: invitation.id });
      toast(`You joined ${invitation.project_name}.`, 'info');
      await hooks.projectJoined(invitation.project_id);
    } else {
      await api.declineInvitation(invitation.id);
    }
  } catch (error) {
    if (error.status !== 403) toast(error.message);
  }
  await refreshInbox();
}

// --- profile --------------------------------------------------------------------------------

// --- notification e-mail settings --------------------------------------------------------

const KIND_LABELS = {
  assigned: 'A task is assigned to me',
  mentioned: 'Someone @mentions me',
  commented: 'Comments on tasks I created, am assigned to or watch',
  due_soon: 'A task of mine is due soon',
  reminder: 'Task reminders',
  invited: 'I am invited to a project',
  webhook_disabled: 'A webhook of a project I manage was disabled',
};

async function loadNotificationSettings() {
  const form = $('#notify-form');
  const settings = await api.notificationSettings();
  const boxes = Object.entries(settings.email).map(([kind, on]) => h('label', {},
    h('input', { type: 'checkbox', name: kind, checked: on }),
    h('span', { text: KIND_LABELS[kind] || kind })));
  $('#notify-kinds').replaceChildren($('#notify-kinds legend'), ...boxes);
  form.elements.digest.value = settings.digest;
}

async function saveNotificationSettings(form) {
  const email = {};
  for (const box of form.querySelectorAll('#notify-kinds input[type=checkbox]')) {
    email[box.name] = box.checked;
  }
  await api.saveNotificationSettings({ email, digest: form.elements.digest.value });
  toast('E-mail settings saved.', 'info');
}

function openProfile() {
  const dialog = $('#profile-dialog');
  $('#profile-name-form').elements.display_name.value = me.display_name;
  $('#verify-note').hidden = !!me.email_verified;
  $('#profile-error').textContent = '';
  loadNotificationSettings().catch((error) => {
    $('#profile-error').textContent = problemText(error);
  });
  dialog.showModal();
}

function profileForm(selector, submit) {
  $(selector).addEventListener('submit', async (e) => {
    e.preventDefault();
    $('#profile-error').textContent = '';
    const values = Object.fromEntries(new FormData(e.target));
    try {
      await submit(values, e.target);
    } catch (error) {
      $('#profile-error').textContent = problemText(error);
    }
  });
}

function initProfile() {
  $('#profile-open').addEventListener('click', openProfile);
  $('#profile-close').addEventListener('click', () => $('#profile-dialog').close());
  $('#verify-resend').addEventListener('click', async () => {
    await api.resendVerification().catch(() => null);
    toast('A new verification link is on its way.', 'info');
  });
  profileForm('#profile-name-form', async (values) => {
    me = await api.updateMe({ display_name: values.display_name });
    hooks.userChanged(me);
    toast('Name saved.', 'info');
  });
  profileForm('#notify-form', async (_values, form) => saveNotificationSettings(form));
  profileForm('#profile-email-form', async (values, form) => {
    await api.changeEmail(values);
    form.reset();
    toast(`A confirmation link was sent to ${values.new_email}.`, 'info');
  });
  profileForm('#profile-password-form', async (values, form) => {
    const user = await api.changePassword(values);
    form.reset();
    hooks.passwordChanged(user);
    toast('Password changed; your other sessions were signed out.', 'info');
  });
  profileForm('#profile-delete-form', async (values) => {
    if (!window.confirm('Delete your account for good?')) return;
    await api.deleteMe(values);
    $('#profile-dialog').close();
    hooks.signedOut('Your account was deleted.');
  });
}

// --- sign-in providers -------------------------------------------------------------------

/** "Sign in with <provider>": a plain link; the server runs the OpenID Connect flow. */
async function renderProviders() {
  let providers = [];
  try {
    providers = await api.providers();
  } catch {
    return;
  }
  $('#providers').replaceChildren(...providers.map((p) => h('a', {
    class: 'button provider',
    href: `/api/v1/auth/oidc/${encodeURIComponent(p.name)}/login`,
    text: `Sign in with ${p.display_name}`,
  })));
}

// --- lifecycle ------------------------------------------------------------------------------

/** hooks: projectJoined(projectId?), userChanged(user), passwordChanged(user), signedOut(msg) */
export function initAccount(appHooks) {
  hooks = appHooks;
  $('#forgot-open').addEventListener('click', () => { note(''); showAuthForm('forgot'); });
  $('#forgot-cancel').addEventListener('click', () => showAuthForm('login'));
  $('#forgot-form').addEventListener('submit', sendReset);
  initProfile();
  renderProviders();
  // Invitations sent while the board is open show up without a reload.
  window.addEventListener('focus', refreshInbox);
}

export async function accountSignedIn(user) {
  me = user;
  $('#profile-open').hidden = false;
  showAuthForm('login');
  clearInterval(inboxTimer);
  inboxTimer = setInterval(refreshInbox, INBOX_POLL_MS);
  await acceptPendingInvitation();
  await refreshInbox();
}

export function accountSignedOut() {
  me = null;
  clearInterval(inboxTimer);
  $('#profile-open').hidden = true;
  $('#invitations-panel').hidden = true;
  if ($('#profile-dialog').open) $('#profile-dialog').close();
}
