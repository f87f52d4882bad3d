"""The Hog (providers.md 3, 4): `ThehogClient` submits and polls enrichments, `flatten()` reads any
The Hog payload into EnrichmentResult records; both speak the current enrichment API.

Modules, each importing only those before it: `values` (lenient JSON readers), `dialect` (the API's
constants, error bodies, poll targets), `plan` (what we send), `parse` (one `data` object),
`correlate` (who a payload is about), `records` (result builders), `payloads` (each payload shape,
`flatten`), `client` (`ThehogClient`).
"""

from enrich_pipeline.providers.thehog.client import ThehogClient
from enrich_pipeline.providers.thehog.dialect import (
    BATCH_MAX,
    CREDIT_PRICES,
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMITS,
    PROVIDER,
    UnsafePollUrlError,
    poll_target,
)
from enrich_pipeline.providers.thehog.payloads import flatten
from enrich_pipeline.providers.thehog.plan import idempotency_key

__all__ = [
    "BATCH_MAX",
    "CREDIT_PRICES",
    "DEFAULT_BASE_URL",
    "DEFAULT_RATE_LIMITS",
    "PROVIDER",
    "ThehogClient",
    "UnsafePollUrlError",
    "flatten",
    "idempotency_key",
    "poll_target",
]
