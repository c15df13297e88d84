"""Pure ASGI middleware, one job each; `stack.install_middleware` puts them in order."""
