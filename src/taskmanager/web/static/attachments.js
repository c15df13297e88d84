// Files on a task in the task dialog: the list (image thumbnails through the inline
// content URL, a download link for everything), upload by file picker or by dropping
// files onto the dialog, delete. The server decides what may show inline (checked PNG,
// JPEG, GIF, WebP); everything else is only ever a download.

import { api } from './api.js';
import { h, toast } from './dom.js';

const PREVIEWS = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export const contentUrl = (id, inline = false) =>
  `/api/v1/attachments/${id}/content${inline ? '?disposition=inline' : ''}`;

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The dialog's attachments section; `load()` fills its list. */
export function attachmentsSection(taskId, editable) {
  const list = h('ul', { id: 'attachment-list', class: 'attachment-list' });
  const input = h('input', {
    type: 'file', id: 'attachment-input', multiple: true, hidden: true,
    onchange: async () => {
      await uploadFiles(taskId, [...input.files]);
      input.value = '';
    },
  });
  return h('section', { class: 'attachments', dataset: { taskId } },
    h('h3', { text: 'Attachments' }),
    list,
    editable ? h('div', { class: 'row attach-actions' },
      input,
      h('button', { type: 'button', id: 'attach-file', text: 'Add files', onclick: () => input.click() }),
      h('span', { class: 'muted', text: 'or drop files onto this dialog' })) : null);
}

export async function loadAttachments(taskId, editable) {
  let items;
  try {
    items = await api.attachments(taskId);
  } catch (error) {
    toast(error.message);
    return;
  }
  const list = document.querySelector(`section.attachments[data-task-id="${taskId}"] ul`);
  if (!list) return;
  list.replaceChildren(...items.map((a) => h('li', { class: 'attachment', dataset: { id: a.id } },
    PREVIEWS.has(a.content_type)
      ? h('img', { class: 'thumb', src: contentUrl(a.id, true), alt: a.filename, loading: 'lazy' })
      : h('span', { class: 'file-icon', 'aria-hidden': 'true', text: '📄' }),
    h('a', { class: 'download', href: contentUrl(a.id), download: a.filename, text: a.filename }),
    h('span', { class: 'muted', text: size(a.size) }),
    editable ? h('button', { type: 'button', class: 'link delete-attachment', text: 'delete',
      'aria-label': `Delete ${a.filename}`, onclick: async () => {
        try {
          await api.deleteAttachment(a.id);
          loadAttachments(taskId, editable);
        } catch { /* reported by the API client */ }
      } }) : null)));
  if (!items.length) list.append(h('li', { class: 'muted', text: 'No files yet.' }));
}

export async function uploadFiles(taskId, files) {
  for (const file of files) {
    try {
      await api.uploadAttachment(taskId, file);
    } catch {
      // reported by the API client (413: too large, ...)
    }
  }
  loadAttachments(taskId, true);
}

/** Dropping files anywhere on the dialog uploads them to the open task. */
export function acceptDrops(dialogEl, target) {
  const active = (e) => target() && e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  dialogEl.addEventListener('dragover', (e) => {
    if (!active(e)) return;
    e.preventDefault();
    dialogEl.classList.add('dropping');
  });
  dialogEl.addEventListener('dragleave', (e) => {
    if (e.target === dialogEl) dialogEl.classList.remove('dropping');
  });
  dialogEl.addEventListener('drop', (e) => {
    dialogEl.classList.remove('dropping');
    const taskId = active(e) ? target() : null;
    if (!taskId) return;
    e.preventDefault();
    uploadFiles(taskId, [...e.dataTransfer.files]);
  });
}
