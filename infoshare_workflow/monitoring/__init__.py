"""What operators see: Prometheus metrics and log lines, never personal data or tokens.

Golden rule 6 ("shared securely") reaches the logs too: metrics carry no field values and
every handler redacts link tokens and exception messages.
"""
