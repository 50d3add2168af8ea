"""The graph repository: the only package that talks to Neo4j."""
