"""LookerVault Restore's Dagster code location (`lookervault_pipelines.definitions`)."""
