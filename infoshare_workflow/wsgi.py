"""WSGI entry point: `gunicorn infoshare_workflow.wsgi:app`."""

from .app import main_app

app = main_app()
