"""Real-time task manager backend."""

__version__ = "0.1.0"
