"""WSGI entry point: `gunicorn infoshare_workflow.wsgi:app`."""

from infoshare_workflow.service.app import main_app

app = main_app()
