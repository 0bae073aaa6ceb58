"""Production faults, on PostgreSQL alone: the fixtures and the stack are in conftest.py."""
