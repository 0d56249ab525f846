"""`python -m radsearch.cli ...` runs the command line (the crash tests start the indexer this way)."""

from . import main

main()
