"""Project invitations: the only way into a project; the invitee accepts or declines."""
