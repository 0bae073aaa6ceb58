"""infoshare-workflow: safeguarding information-sharing workflow for UK schools.

The core package: domain rules, storage and the app and worker factories. It never imports
the `tasks` or `webhooks` adapters; they import it.
"""

__version__ = "0.1.0"
