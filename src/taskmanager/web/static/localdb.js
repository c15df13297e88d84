// The board's local database: one IndexedDB database per signed-in user (never shared
// between accounts on one browser), or plain memory when IndexedDB is unavailable (some
// private modes, locked-down browsers): the board then works as before, without offline.

const PREFIX = 'taskmanager-';
const VERSION = 1;
// keyPath per object store. `members` and `labels` hold one record per project.
const STORES = {
  projects: 'id',
  members: 'project_id',
  labels: 'project_id',
  tasks: 'id',
  meta: 'key', // {key: 'cursor' | 'seqs', value}
  outbox: 'id', // queued writes, in order (ids are increasing numbers)
};

const dbName = (userId) => `${PREFIX}${userId}`;

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

class IdbStore {
  constructor(db) {
    this.db = db;
  }

  async all(store) {
    return done(this.db.transaction(store).objectStore(store).getAll());
  }

  /** Apply writes ([op, store, value-or-key]) in one transaction: all or none. */
  write(ops) {
    const names = [...new Set(ops.map(([, store]) => store))];
    if (!names.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(names, 'readwrite');
      for (const [op, store, arg] of ops) {
        const os = tx.objectStore(store);
        if (op === 'put') os.put(arg);
        else if (op === 'delete') os.delete(arg);
        else if (op === 'clear') os.clear();
      }
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  close() {
    this.db.close();
  }
}

class MemoryStore {
  constructor() {
    this.data = Object.fromEntries(Object.keys(STORES).map((name) => [name, new Map()]));
  }

  async all(store) {
    return [...this.data[store].values()].map((v) => structuredClone(v));
  }

  async write(ops) {
    for (const [op, store, arg] of ops) {
      const map = this.data[store];
      if (op === 'put') map.set(arg[STORES[store]], structuredClone(arg));
      else if (op === 'delete') map.delete(arg);
      else if (op === 'clear') map.clear();
    }
  }

  close() {}
}

function idb() {
  try {
    return typeof indexedDB === 'undefined' ? null : indexedDB;
  } catch {
    return null; // e.g. a SecurityError for opaque origins
  }
}

/** The user's database (created on first use); memory when IndexedDB cannot be used. */
export async function openLocal(userId) {
  const factory = idb();
  if (!factory) return new MemoryStore();
  try {
    const request = factory.open(dbName(userId), VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const [name, keyPath] of Object.entries(STORES)) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath });
      }
    };
    const db = await done(request);
    // Another tab deleting the database (sign-out there) must not be blocked by us.
    db.onversionchange = () => db.close();
    return new IdbStore(db);
  } catch {
    return new MemoryStore();
  }
}

/** Delete the databases of every user of this browser but `keepUserId` (null: all). */
export async function dropLocal(keepUserId = null) {
  const factory = idb();
  if (!factory) return;
  try {
    // Without databases() (old browsers) only sign-out's dropUser removes a database.
    const names = factory.databases ? (await factory.databases()).map((d) => d.name) : [];
    const gone = names.filter((n) => n && n.startsWith(PREFIX) && n !== (keepUserId && dbName(keepUserId)));
    await Promise.all(gone.map((n) => done(factory.deleteDatabase(n)).catch(() => null)));
  } catch {
    // nothing stored, or storage unavailable
  }
}

/** Delete one user's database. */
export async function dropUser(userId) {
  const factory = idb();
  if (!factory) return;
  try {
    await done(factory.deleteDatabase(dbName(userId)));
  } catch {
    // blocked or unavailable: dropLocal at the next sign-in takes it
  }
}

// Who was signed in last on this browser, so a reload (offline too) starts from their data
// before the server answers. Only the id and display name; cleared on sign-out.
const LAST_USER = 'taskmanager.user';

export function lastUser() {
  try {
    const user = JSON.parse(localStorage.getItem(LAST_USER) || 'null');
    return user && typeof user.id === 'string' ? user : null;
  } catch {
    return null;
  }
}

export function rememberUser(user) {
  try {
    localStorage.setItem(LAST_USER, JSON.stringify({ id: user.id, display_name: user.display_name }));
  } catch {
    // storage unavailable: no instant start next time
  }
}

export function forgetUser() {
  try {
    localStorage.removeItem(LAST_USER);
  } catch {
    // unavailable
  }
}
