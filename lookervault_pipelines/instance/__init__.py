"""Instance plug-ins, and the one room where Dagster's internals (`dagster._*`) may be used.

What dagster.yaml names is loaded by every process that opens the instance
(webserver, daemon, run workers, the CLI), not only by the code location:
the run coordinator with lanes (`lanes`), the run launcher that forks warm
workers (`launcher`, `worker_preload`; `workers` tells whether a run's process
still lives), and the event-log storages
(`sqlite_storage`, `pg_storage`). Each is optional: without its block in
dagster.yaml Dagster's own stock piece runs, and restores behave the same.

Dagster's internals carry no compatibility promise, so each module imports
them through `internals`, which refuses to load on a Dagster that lacks them
(naming the installed version) instead of falling back silently;
pyproject.toml pins the Dagster versions they were checked against. The
restore step's batched events (`restore_step`'s batching) use the same adapter.
"""
