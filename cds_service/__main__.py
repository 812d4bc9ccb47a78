"""`python -m cds_service` is the `nerve-cds` command."""
from .tools.cli import main

main()
