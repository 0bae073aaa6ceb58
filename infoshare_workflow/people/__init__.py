"""Pupils, contacts and staff as the MIS describes them, and who a step is routed to.
"""
