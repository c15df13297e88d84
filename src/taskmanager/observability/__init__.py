"""Operations' view of the service: the Prometheus metrics (served by health/router.py)."""
