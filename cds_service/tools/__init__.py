"""The `nerve-cds` command line: serve, cards validate/diff, fixtures, invoke."""
