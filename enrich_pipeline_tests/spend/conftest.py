"""The Postgres server fixtures (enrich_pipeline_tests/postgres_server.py) for the spend tests: a
server per xdist worker, started only when a test asks for it."""

from enrich_pipeline_tests.postgres_server import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]
