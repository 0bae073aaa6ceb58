"""Email: rows queued with their cause and sent exactly once, rendered from templates with
no personal data, through SMTP or to a folder.
"""
