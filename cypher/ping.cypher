// readiness: one round trip to the database itself (app/graph/repository.py ping)
RETURN 1 AS ok
