"""Retention reviews ("always review retained information regularly and do not keep longer
than necessary"): the sweep that lists what is due, the DSL's review lists, two-person
disposal with a waiting period, legal hold, and erasure that leaves a tombstone.
"""
