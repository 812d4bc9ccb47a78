"""Shared test helpers: real servers, FHIR builders, signed tokens, paths. Imported as tests.helpers.x."""
