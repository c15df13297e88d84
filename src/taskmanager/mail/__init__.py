"""Outgoing mail: messages with text and HTML bodies, sent by a job to SMTP or an outbox."""
