"""Account self-service: password reset, e-mail verification and change, profile, deletion."""
