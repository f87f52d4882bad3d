"""enrich.so (Enrich API v3): four batch products, their single-lookup twins, and flatten.

| WantedField        | batch product (provider_ref prefix)            | needs                     |
|--------------------|------------------------------------------------|---------------------------|
| EMAIL_VERIFICATION | POST /email-validation/batch (`validation:`)   | email                     |
| EMAIL              | POST /email-finder/batch (`finder:`)           | first, last, company dom. |
| LINKEDIN           | POST /reverse-lookup/bulk-lookup (`reverse:`)  | email                     |
| PHONE              | POST /reverse-lookup/phones/bulk (`phones:`)   | LinkedIn URL or email     |

The modules, each importing only modules listed above it:
- parse.py      one answer (results row, single `data`, callback `result`) → a record
- paging.py     every page of a batch's results: when a read may stop (counts, echoed limit)
- costs.py      what an answer cost; single-lookup and error bodies → records
- webhooks.py   callbacks → records
- correlate.py  result rows → the requests they answer (also rows that do not echo their input)
- batches.py    a batch's results → one record per request; any payload → records
- api.py        base URL, plans and rate limits, endpoints, prices, error bodies, 409's batch
- items.py      requests → batch items and submit bodies
- client.py     EnrichsoClient (submit, poll, collect, single lookups) and flatten
"""

from enrich_pipeline.providers.enrichso.api import (
    BATCH_MAX,
    CREDIT_PRICES,
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMITS,
    PRODUCT_OF_FIELD,
    plan_rate_limits,
)
from enrich_pipeline.providers.enrichso.client import EnrichsoClient, flatten
from enrich_pipeline.providers.enrichso.parse import PROVIDER
from enrich_pipeline.providers.enrichso.webhooks import parse_webhook

__all__ = [
    "BATCH_MAX",
    "CREDIT_PRICES",
    "DEFAULT_BASE_URL",
    "DEFAULT_RATE_LIMITS",
    "PRODUCT_OF_FIELD",
    "PROVIDER",
    "EnrichsoClient",
    "flatten",
    "parse_webhook",
    "plan_rate_limits",
]
