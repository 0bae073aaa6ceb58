"""The abuse suite runs on PostgreSQL, as deployed: what it proves is about the doors (HTTP,
gunicorn, the forms), not the database engine, which the rest of the suite covers on both."""
