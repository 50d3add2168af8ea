"""Staying up and answering clearly under faults: Neo4j availability, rate limits, bounded refusal audit."""
