"""Reminders: `due_soon` a day before a task's due date and `reminder` at its remind_at."""
