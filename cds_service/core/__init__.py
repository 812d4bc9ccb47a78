"""Shared building blocks with no knowledge of hooks or cards: settings, HTTP errors as
OperationOutcome, FHIR ids, tolerant FHIR JSON accessors and FHIR dates. Imports nothing else here."""
