"""Celery tasks: thin adapters that load, call one domain function and commit."""
