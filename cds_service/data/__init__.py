"""Gathering the FHIR data a hook call needs: prefetch as sent, missing keys fetched from the
EHR's FHIR server (allowlisted, time-boxed, size-capped). Imports hooks and core."""
