// One WebSocket for the page: reconnect after any drop (exponential backoff with jitter),
// tell the sync when it is open (it subscribes to everything from its cursor) or gone, and
// report the state: live / reconnecting / offline. Frames are handed over as they come;
// applying them in order is the sync's job (sync.js); notifications and presence frames
// go to their own handlers.

const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 8000;
const MAX_BACKOFF_MS = 15000;

export class Live {
  /**
   * handlers: onState(state), onOpen(), onClose(), onMessage(msg), onNotification(msg),
   * onPresence(msg), onError(msg), onSessionEnded()
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.attempts = 0;
    this.timer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.stopped = true;
    this.state = 'offline';
    this.retryAfterMs = 30000; // after a 4429 close (the server's retry_after, in ms)
    window.addEventListener('online', () => this.reconnectNow());
    window.addEventListener('offline', () => this.goOffline());
  }

  start() {
    this.stopped = false;
    if (!this.ws) this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.drop();
    this.setState('offline');
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.handlers.onState(state);
  }

  /** Caught up and subscribed: the next drop starts the backoff from the beginning. */
  settled() {
    this.attempts = 0;
  }

  /** The catch-up failed: a new connection after the backoff, from the stored cursor. */
  retryLater() {
    this.drop();
    this.schedule(null);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.setState('offline');
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws`);
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      // attempts is reset by settled(): an open socket whose catch-up fails still backs off.
      this.setState('live');
      this.heartbeat();
      this.handlers.onOpen();
    };
    ws.onmessage = (e) => {
      if (ws !== this.ws) return;
      clearTimeout(this.pongTimer);
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      this.dispatch(msg);
    };
    ws.onclose = (e) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.stopHeartbeat();
      this.handlers.onClose();
      if (e.code === 4401) {
        // The session ended (logout elsewhere, revoked, expired): no point retrying.
        this.stopped = true;
        this.setState('offline');
        this.handlers.onSessionEnded();
        return;
      }
      // 1013: we were too slow and got dropped; resume at once, the log has the rest.
      // 4429: over the live-connection cap (other tabs); wait at least as told.
      if (e.code === 4429) this.schedule(this.retryAfterMs + Math.random() * 5000);
      else this.schedule(e.code === 1013 ? 0 : null);
    };
  }

  dispatch(msg) {
    const h = this.handlers;
    if (msg.type === 'notification') {
      h.onNotification(msg); // the user's own, on every socket: no subscription needed
    } else if (msg.type === 'presence') {
      h.onPresence(msg); // for any followed project: presence.js keeps the open one's
    } else if (msg.type === 'error') {
      if (msg.code === 'too_many_connections') this.retryAfterMs = (msg.retry_after || 30) * 1000;
      h.onError(msg);
    } else if (msg.type !== 'pong') {
      h.onMessage(msg);
    }
  }

  schedule(delayMs) {
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.setState('offline');
      return;
    }
    this.setState('reconnecting');
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempts);
    const delay = delayMs ?? Math.round(base / 2 + Math.random() * (base / 2));
    this.attempts += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || (this.ws && this.ws.readyState === WebSocket.OPEN)) return;
    this.attempts = 0;
    this.drop();
    this.connect();
  }

  goOffline() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.drop();
    this.setState('offline');
  }

  drop() {
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      this.handlers.onClose();
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000);
      } catch {
        /* already closing */
      }
    }
  }

  heartbeat() {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: 'ping' })) return;
      clearTimeout(this.pongTimer);
      // No answer (not even an event) in time: the link is dead even if the socket
      // does not know it yet.
      this.pongTimer = setTimeout(() => {
        this.drop();
        this.schedule(null);
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  stopHeartbeat() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}
