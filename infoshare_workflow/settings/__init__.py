"""What the deployment chose: environment settings (config) and the policy file (policy).

The lowest folder but one: everything may read settings; settings read nothing of ours
but the vocabulary.
"""
