"""Data-subject notices the school sends on a schedule: privacy notices to families (and older
pupils), and asking the DSL again about sharing notices held back (golden rule 2)."""
