"""The calendar feed: a secret, revocable iCalendar URL of a user's due tasks."""
