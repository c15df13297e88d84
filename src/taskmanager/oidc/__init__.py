"""OpenID Connect sign-in: code flow with PKCE, state and nonce, ID tokens checked on JWKS."""
