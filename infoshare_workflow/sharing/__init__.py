"""The sharing workflow: consent, manager consultation and share steps, their answers and
rules, disclosures to recipients, the recipient directory, reminders and escalations,
and handing steps over when someone leaves (the seven golden rules, step by step).
"""
