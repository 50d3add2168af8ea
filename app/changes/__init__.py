"""The change pipeline: validate → diff → graph patch → impact → rules → actions → commit/queue."""
