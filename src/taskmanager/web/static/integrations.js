// The project's "Integrations" dialog (owner and admins): its webhooks, adding one (the
// signing secret is shown once), enabling/disabling, deleting, and each one's delivery log
// with status, response code and duration, and a button to send a delivery again.

import { api } from './api.js';
import { $, h, toast } from './dom.js';
import { store } from './store.js';

let shown = null; // the webhook whose delivery log is open

export function initIntegrations() {
  $('#integrations-open').addEventListener('click', openIntegrations);
  $('#integrations-close').addEventListener('click', () => $('#integrations-dialog').close());
  $('#webhook-form').addEventListener('submit', addWebhook);
  $('#deliveries-refresh').addEventListener('click', () => shown && showDeliveries(shown));
}

export async function openIntegrations() {
  shown = null;
  $('#webhook-secret-box').hidden = true;
  $('#webhook-secret').value = '';
  $('#webhook-error').textContent = '';
  $('#deliveries').hidden = true;
  $('#integrations-dialog').showModal();
  await renderWebhooks();
}

async function renderWebhooks() {
  const list = $('#webhook-list');
  let hooks;
  try {
    hooks = await api.webhooks(store.project.id);
  } catch (error) {
    toast(error.message);
    return;
  }
  list.replaceChildren(...hooks.map((hook) => h('li', { class: 'webhook', dataset: { id: hook.id } },
    h('span', { class: 'webhook-url', text: hook.url, title: hook.description || hook.url }),
    h('span', { class: `badge webhook-state ${hook.enabled ? 'on' : 'off'}`,
      text: hook.enabled ? 'enabled' : `disabled${hook.disabled_reason ? ` (${hook.disabled_reason})` : ''}` }),
    h('span', { class: 'muted webhook-events', text: hook.events.join(', ') }),
    h('span', { class: 'webhook-actions' },
      h('button', { type: 'button', class: 'link', text: hook.enabled ? 'Disable' : 'Enable',
        onclick: () => setEnabled(hook, !hook.enabled) }),
      h('button', { type: 'button', class: 'link', text: 'Deliveries', onclick: () => showDeliveries(hook) }),
      h('button', { type: 'button', class: 'link danger', text: 'Delete', onclick: () => removeWebhook(hook) })))));
  if (hooks.length === 0) list.append(h('li', { class: 'muted', text: 'No webhooks yet.' }));
}

async function addWebhook(e) {
  e.preventDefault();
  const form = e.target;
  const names = form.elements.events.value.split(',').map((s) => s.trim()).filter(Boolean);
  $('#webhook-error').textContent = '';
  try {
    const hook = await api.createWebhook(store.project.id, {
      url: form.elements.url.value.trim(),
      events: names.length ? names : ['*'],
      description: form.elements.description.value.trim(),
    });
    form.reset();
    $('#webhook-secret').value = hook.secret;
    $('#webhook-secret-box').hidden = false;
    await renderWebhooks();
  } catch (error) {
    const detail = error.problem && error.problem.errors && error.problem.errors[0];
    $('#webhook-error').textContent = detail ? `${detail.loc.at(-1)}: ${detail.msg}` : error.message;
  }
}

async function setEnabled(hook, enabled) {
  try {
    await api.updateWebhook(hook.id, { enabled });
  } catch {
    return; // reported
  }
  await renderWebhooks();
}

async function removeWebhook(hook) {
  if (!window.confirm(`Delete the webhook to ${hook.url} and its delivery log?`)) return;
  try {
    await api.deleteWebhook(hook.id);
  } catch {
    return; // reported
  }
  if (shown && shown.id === hook.id) $('#deliveries').hidden = true;
  await renderWebhooks();
}

async function showDeliveries(hook) {
  shown = hook;
  $('#deliveries').hidden = false;
  $('#deliveries-title').textContent = `Deliveries to ${hook.url}`;
  let page;
  try {
    page = await api.deliveries(hook.id);
  } catch (error) {
    toast(error.message);
    return;
  }
  const rows = page.items.map((d) => h('tr', { class: `delivery ${d.status}`, dataset: { id: d.id } },
    h('td', { text: `#${d.event_seq} ${d.event_name}` }),
    h('td', { class: 'delivery-status', text: d.status }),
    h('td', { class: 'delivery-code', text: d.response_status ?? (d.error ? 'no answer' : '') , title: d.error || d.response_body || '' }),
    h('td', { text: d.duration_ms === null ? '' : `${d.duration_ms} ms` }),
    h('td', { text: String(d.attempts) }),
    h('td', { text: d.next_attempt_at ? new Date(d.next_attempt_at).toLocaleString() : '' }),
    h('td', {}, h('button', { type: 'button', class: 'link', text: 'Redeliver', onclick: () => redeliver(hook, d) }))));
  $('#delivery-rows').replaceChildren(...rows);
  $('#deliveries-empty').hidden = rows.length > 0;
}

async function redeliver(hook, delivery) {
  try {
    await api.redeliver(hook.id, delivery.id);
  } catch {
    return; // reported
  }
  toast(`Event #${delivery.event_seq} queued to be sent again.`, 'info');
}
