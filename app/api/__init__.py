"""HTTP only: blueprints, schemas and error rendering. Views call services, nothing else."""
