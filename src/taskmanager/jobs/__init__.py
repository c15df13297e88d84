"""Durable background jobs: a table-backed queue, a registry of kinds, and the worker."""
