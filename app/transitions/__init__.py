"""Proposing valid transitions (issue 13): what-if simulation over the live graph, and proposals."""
