"""Golden end-to-end tests: every scenario and corpus record through the real app and a real FHIR server."""
