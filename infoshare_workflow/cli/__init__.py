"""The `infoshare` command line (INTERFACES.md §4): the entry point `infoshare_workflow.cli:main`."""

from infoshare_workflow.cli.main import main

__all__ = ["main"]
