"""In-app notifications: who is told what happened, read/unread, watch lists."""
