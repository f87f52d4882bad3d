"""`python -m enrich_pipeline.cli` runs the same command as `enrich-pipeline`."""

import sys

from enrich_pipeline.cli.main import main

sys.exit(main())
