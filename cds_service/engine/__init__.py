"""From gathered FHIR data to cards: record -> evidence -> findings -> rules -> cards (advise.py).

Python here knows the kinds of evidence and condition; which codes, thresholds and words apply
comes from the loaded card library. Imports library, hooks, data (the record) and core."""
