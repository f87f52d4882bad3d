"""lemlist (providers.md 1, 4): `LemlistClient` submits and polls enrichments, `flatten()` reads any
lemlist payload into EnrichmentResult records, `parse_webhook()` reads a webhook delivery.

Modules, each importing only those before it: `values` (lenient JSON readers), `dialect` (the API's
constants, workflows, prices, error codes), `plan` (what we send), `parse` (one `data` object),
`correlate` (who a payload is about), `records` (result builders), `payloads` (each payload shape,
`flatten`, `parse_webhook`), `client` (`LemlistClient`). Names with a leading underscore are shared
between these modules only.
"""

from enrich_pipeline.providers.lemlist.client import LemlistClient
from enrich_pipeline.providers.lemlist.dialect import (
    BATCH_MAX,
    CREDIT_PRICES,
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMITS,
    PROVIDER,
    parse_lemlist_error,
)
from enrich_pipeline.providers.lemlist.payloads import flatten, parse_webhook

__all__ = [
    "BATCH_MAX",
    "CREDIT_PRICES",
    "DEFAULT_BASE_URL",
    "DEFAULT_RATE_LIMITS",
    "PROVIDER",
    "LemlistClient",
    "flatten",
    "parse_lemlist_error",
    "parse_webhook",
]
