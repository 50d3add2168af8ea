"""Who may change what: API tokens, roles, environment limits, and auditing refused calls."""
