"""Projects, their members and roles: the rows and the one access check every feature uses."""
