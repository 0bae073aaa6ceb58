"""Who may do what: admin API tokens (hashed), signed single-use links for tasks and
disclosures, and the Standard Webhooks signature of the MIS (golden rule 6, "secure").
"""
