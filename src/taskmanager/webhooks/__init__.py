"""Webhooks: signed HTTP deliveries of a project's events to endpoints its admins register."""
