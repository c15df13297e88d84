"""Shared fixtures."""

from tests.helpers import team, team_users

__all__ = ["team", "team_users"]
