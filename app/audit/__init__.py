"""The audit log: every request and report, who made it, and what came of it."""
