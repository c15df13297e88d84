// The sidebar's member and label panels of the open project: the lists, removing a
// member, inviting by e-mail, adding a label.

import { api } from './api.js';
import { $, h, toast } from './dom.js';
import { canManage, store } from './store.js';

export function initPanels() {
  $('#member-form').addEventListener('submit', invite);
  $('#label-form').addEventListener('submit', addLabel);
}

export function renderMembers() {
  const manage = canManage();
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

export function renderLabels() {
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
