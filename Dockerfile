# The Karma API image (used by docker-compose.yml). durable-rules builds from source: needs gcc.
FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/karma
COPY pyproject.toml README.md ./
COPY app ./app
COPY cypher ./cypher
COPY rules ./rules
COPY types ./types
COPY seed ./seed
# Editable, so the package finds cypher/, rules/ and seed/ beside it. The tooling (karma_tools/: bench,
# local Neo4j) is not shipped: its entry points are then skipped, so NEO4J_URI must be set (docker-compose does).
RUN pip install --no-cache-dir -e .
ENV KARMA_TESTCONTAINERS=0
EXPOSE 8000
CMD ["karma", "serve", "--bind", "0.0.0.0:8000", "--workers", "2"]
