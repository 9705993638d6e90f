"""``python -m pipeline.cli`` runs the ``waspada`` command."""

from pipeline.cli import main

main()
