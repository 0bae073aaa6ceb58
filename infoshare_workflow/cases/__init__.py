"""Cases from the MIS: signed events taken in and applied exactly once, a case opened per
concern, the pseudonymised view for consultation, and the queries the API and CLI read.
"""
