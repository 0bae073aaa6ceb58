"""The record the guidance asks for: the hash-chained audit trail (golden rule 7, "keep a
record of your decision and the reasons for it") and retention categories and review
dates ("do not keep longer than necessary").
"""
