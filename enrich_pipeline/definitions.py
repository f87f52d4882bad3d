"""The one Definitions object. The pipeline's assets arrive with the pipeline work; for now it is
empty but loadable, so `dagster dev` / `dg` and workspace.yaml already point at the right place."""

import dagster as dg

defs = dg.Definitions()
