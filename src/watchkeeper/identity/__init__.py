"""Users, teams, roles, API tokens, sessions and the audit log."""
