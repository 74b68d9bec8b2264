"""What the code location defines: assets per content type, jobs, the re-sync, sensors, schedules, resources.

Loaded by the code server and every run worker through `lookervault_pipelines.definitions`.
"""
