"""Inside a restore step: keys restored on threads, events batched and recorded, re-execution, dead letters.

Runs in the run worker (or the `lookervault` process for its in-process runs); `defs` calls it.
"""
