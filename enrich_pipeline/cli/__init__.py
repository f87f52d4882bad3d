"""The `enrich-pipeline` command: one module per command group, `main` dispatches."""

from enrich_pipeline.cli.main import main

__all__ = ["main"]
