"""Driving the Dagster UI's own GraphQL API from tests: backfills launched the way the UI does."""
