// The board's service worker: its own files (never the API) from the network when it can
// be reached, else from the last copy, so a reload offline still opens the board, which
// then starts from its local database.

const CACHE = 'taskmanager-board-v1';
// Fetched at install: the page that registered us was loaded before we ran, so without
// this the first reload offline would find nothing. (tests/web/test_static.py checks the
// list names every module.)
const SHELL = [
  '/', '/styles.css', '/app.js', '/account.js', '/api.js', '/attachments.js', '/board.js',
  '/conflicts.js', '/depth.js', '/dom.js', '/filters.js', '/following.js', '/integrations.js',
  '/live.js', '/localdb.js', '/mywork.js', '/notifications.js', '/outbox.js', '/panels.js',
  '/presence.js', '/projects.js', '/replica.js', '/store.js', '/sync.js', '/task-dialog.js',
];

self.addEventListener('install', (event) => {
  self.skipWaiting();
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).catch(() => null));
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function isBoardFile(request) {
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return false;
  return !/^\/(api|health|metrics|docs|redoc|openapi\.json)(\/|$)/.test(url.pathname);
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (!isBoardFile(request)) return; // the API is the app's business, never cached here
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // A page's fragment never reaches here; the mail link pages are the board itself.
    const key = request.mode === 'navigate' ? '/' : request;
    try {
      const response = await fetch(request);
      if (response.ok) await cache.put(key, response.clone());
      return response;
    } catch (error) {
      const cached = await cache.match(key);
      if (cached) return cached;
      throw error;
    }
  })());
});
