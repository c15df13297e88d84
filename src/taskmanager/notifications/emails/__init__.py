"""Notification e-mails: per-kind preferences, grouped mails, the daily digest, unsubscribe."""
