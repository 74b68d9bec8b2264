"""Test helpers: a fake Looker API server (`fake_looker`), backup builders (`backups`),
and a check of recorded requests against the official API description (`spec_check`)."""
