-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d/): the ledger
-- gets a database of its own beside Dagster's (DAGSTER_PG_DB). `enrich-pipeline ledger copy` only
-- copies into an empty database, and the two schemas migrate on their own schedules.
CREATE DATABASE enrich_ledger;
