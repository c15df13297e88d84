// Presence under `subscribe_all`: the server takes a presence message only for a project
// the socket follows, and the socket follows every project we can see from the moment it
// answers `subscribed_all` (or sends `project_added` for one we joined). So this page says
// where it is when the open project becomes followed that way, and when another followed
// project is opened; announcements for a project not (yet) followed are held back until it
// is. Frames go on to the sync (sync.js) for the replica.

import { renderBoard } from './board.js';
import { announce, clearPresence, initPresence, onPresence } from './presence.js';
import { store } from './store.js';
import { onFrame } from './sync.js';

const followed = new Set(); // project ids the open socket follows
let announcedIn = null; // the project we last said we are in, on this socket

/** Presence goes out over `live`, only for followed projects. */
export function initFollowing(live) {
  initPresence({ send: (message) => followed.has(message.project_id) && live.send(message) });
}

/** A frame for the replica; those saying which projects we follow are noted here too. */
export function onMessage(msg) {
  onFrame(msg);
  if (msg.type === 'subscribed_all') {
    followed.clear();
    for (const id of msg.projects || []) followed.add(id);
    announcedIn = null; // a new socket: the server knows nothing of us yet
  } else if (msg.type === 'project_added') {
    followed.add(msg.project_id);
    if (msg.project_id === announcedIn) announcedIn = null;
  } else if (msg.type === 'project_removed') {
    followed.delete(msg.project_id);
    if (msg.project_id === announcedIn) announcedIn = null;
  } else {
    return;
  }
  projectShown();
}

/** A `presence` frame: if it is the open project's, the cards show who is editing. */
export function presenceFrame(msg) {
  if (onPresence(msg)) renderBoard();
}

/** The socket is gone: nothing is followed, and nobody's presence is known any more. */
export function connectionLost() {
  followed.clear();
  announcedIn = null;
  clearPresence();
}

/** The open project changed (or became followed): say we are there, once. */
export function projectShown() {
  const id = store.project ? store.project.id : null;
  if (!id || id === announcedIn || !followed.has(id)) return;
  announcedIn = id;
  announce();
}
