// The HTTP API client: JSON in and out, the CSRF header on every unsafe request, and an
// X-Request-ID of our own on every write so the live stream's echo can be recognised.

const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, problem) {
    const title = problem.title || (status ? `HTTP ${status}` : 'Network error');
    super(problem.detail ? `${title}: ${problem.detail}` : title);
    this.status = status;
    this.problem = problem;
  }
}

// Request ids of our own writes whose event has not come back yet (bounded).
const ownRequestIds = new Set();
const writeErrorListeners = [];

export function isOwnEcho(requestId) {
  if (!requestId || !ownRequestIds.has(requestId)) return false;
  ownRequestIds.delete(requestId);
  return true;
}

/** Every failed write is reported here (the page shows it); callers may also handle it. */
export function onWriteError(listener) {
  writeErrorListeners.push(listener);
}

function readCookie(name) {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return '';
}

let csrfToken = '';

export function setCsrfToken(token) {
  csrfToken = token || '';
}

function newRequestId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function remember(requestId) {
  ownRequestIds.add(requestId);
  if (ownRequestIds.size > 500) ownRequestIds.delete(ownRequestIds.values().next().value);
}

/**
 * One request. `expected` lists statuses the caller handles itself (not reported as errors;
 * 0: the network).
 * Returns the parsed JSON body (null for 204).
 */
export async function request(method, path, { body, form, headers = {}, expected = [] } = {}) {
  const unsafe = method !== 'GET' && method !== 'HEAD';
  const sent = { Accept: 'application/json', ...headers };
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  // A FormData body (an upload): the browser sets multipart/form-data and its boundary.
  if (unsafe) {
    const token = csrfToken || readCookie('csrf_token');
    if (token) sent['X-CSRF-Token'] = token;
    const requestId = newRequestId();
    sent['X-Request-ID'] = requestId;
    remember(requestId);
  }
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers: sent,
      body: form !== undefined ? form : body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    const error = new ApiError(0, { title: 'Network error', detail: 'The server cannot be reached.' });
    if (unsafe && !expected.includes(0)) writeErrorListeners.forEach((fn) => fn(error));
    throw error;
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data || {});
    if (unsafe && !expected.includes(response.status)) writeErrorListeners.forEach((fn) => fn(error));
    throw error;
  }
  return data;
}

async function all(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const url = `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await request('GET', url);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

const ifMatch = (version) => (version ? { 'If-Match': `"${version}"` } : {});

export const api = {
  register: (body) => request('POST', '/auth/register', { body }),
  login: (body) => request('POST', '/auth/login', { body, expected: [401, 422, 429] }),
  logout: () => request('POST', '/auth/logout'),
  me: () => request('GET', '/auth/me'),
  providers: () => request('GET', '/auth/providers'),
  updateMe: (body) => request('PATCH', '/auth/me', { body, expected: [422] }),
  changePassword: (body) => request('PATCH', '/auth/me/password', { body, expected: [422, 429] }),
  changeEmail: (body) => request('POST', '/auth/me/email', { body, expected: [409, 422, 429] }),
  deleteMe: (body) => request('DELETE', '/auth/me', { body, expected: [409, 422, 429] }),
  requestReset: (body) => request('POST', '/auth/password-reset', { body, expected: [422, 429] }),
  confirmReset: (body) =>
    request('POST', '/auth/password-reset/confirm', { body, expected: [400, 422] }),
  verifyEmail: (token) => request('POST', '/auth/verify-email', { body: { token }, expected: [400, 409] }),
  resendVerification: () => request('POST', '/auth/verify-email/resend', { expected: [429] }),

  /** One page of GET /sync (a bootstrap without a cursor); 410/422 mean "bootstrap again". */
  sync: (cursor) => request('GET', `/sync?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
  projects: () => all('/projects'),
  project: (id) => request('GET', `/projects/${id}`),
  createProject: (body) => request('POST', '/projects', { body }),
  members: (id) => request('GET', `/projects/${id}/members`),
  invite: (id, body) => request('POST', `/projects/${id}/invitations`, { body }),
  myInvitations: () => request('GET', '/invitations'),
  acceptInvitation: (body) => request('POST', '/invitations/accept', { body, expected: [400, 403, 409] }),
  declineInvitation: (id) => request('POST', `/invitations/${id}/decline`),
  updateMember: (id, userId, role) =>
    request('PATCH', `/projects/${id}/members/${userId}`, { body: { role } }),
  removeMember: (id, userId) => request('DELETE', `/projects/${id}/members/${userId}`),

  webhooks: (projectId) => all(`/projects/${projectId}/webhooks`),
  createWebhook: (projectId, body) =>
    request('POST', `/projects/${projectId}/webhooks`, { body, expected: [422] }),
  updateWebhook: (id, body) => request('PATCH', `/webhooks/${id}`, { body }),
  deleteWebhook: (id) => request('DELETE', `/webhooks/${id}`),
  deliveries: (id) => request('GET', `/webhooks/${id}/deliveries?limit=50`),
  redeliver: (id, deliveryId) => request('POST', `/webhooks/${id}/deliveries/${deliveryId}/redeliver`),

  tasks: (projectId) => all(`/projects/${projectId}/tasks?sort=position`),
  /** Tasks matching the list API's filters (an object of q, assignee_id, priority, label_id). */
  findTasks: (projectId, filters) => {
    const query = new URLSearchParams({ sort: 'position' });
    for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
    return all(`/projects/${projectId}/tasks?${query}`);
  },
  task: (id) => request('GET', `/tasks/${id}`),
  myWork: () => all('/tasks?assignee=me&sort=due_at'),
  calendarFeed: () => request('POST', '/auth/me/calendar-feed'),
  notificationSettings: () => request('GET', '/auth/me/notification-settings'),
  saveNotificationSettings: (body) =>
    request('PUT', '/auth/me/notification-settings', { body, expected: [422] }),
  importProject: (body) => request('POST', '/projects/import', { body }),
  createTask: (projectId, body) => request('POST', `/projects/${projectId}/tasks`, { body }),
  updateTask: (id, body, version) =>
    request('PATCH', `/tasks/${id}`, { body, headers: ifMatch(version), expected: [412] }),
  moveTask: (id, body) => request('POST', `/tasks/${id}/move`, { body }),
  deleteTask: (id) => request('DELETE', `/tasks/${id}`),

  labels: (projectId) => all(`/projects/${projectId}/labels`),
  createLabel: (projectId, body) => request('POST', `/projects/${projectId}/labels`, { body }),

  notifications: (limit) => request('GET', `/notifications?limit=${limit}`),
  unreadCount: () => request('GET', '/notifications/unread-count'),
  readNotification: (id) => request('POST', `/notifications/${id}/read`),
  readAllNotifications: () => request('POST', '/notifications/read-all'),
  watching: (taskId) => request('GET', `/tasks/${taskId}/watch`),
  watch: (taskId) => request('POST', `/tasks/${taskId}/watch`),
  unwatch: (taskId) => request('DELETE', `/tasks/${taskId}/watch`).then(() => ({ watching: false })),

  comments: (taskId) => all(`/tasks/${taskId}/comments`),
  createComment: (taskId, body) => request('POST', `/tasks/${taskId}/comments`, { body }),
  deleteComment: (id) => request('DELETE', `/comments/${id}`),

  attachments: (taskId) => all(`/tasks/${taskId}/attachments`),
  uploadAttachment: (taskId, file) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return request('POST', `/tasks/${taskId}/attachments`, { form });
  },
  deleteAttachment: (id) => request('DELETE', `/attachments/${id}`),
};
