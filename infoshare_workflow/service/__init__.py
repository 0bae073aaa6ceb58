"""The processes the product runs as: the Flask app factory, the Celery app factory and
the in-process worker used on the embedded defaults. The composition root: the one place
that wires the adapters (webhooks, tasks) to the core.
"""
