"""Operations' view of the service: Prometheus metrics and their endpoint."""
