"""Time on the school's clock: working days and closures, due dates, reminder and
escalation points ("share in a timely fashion").
"""
