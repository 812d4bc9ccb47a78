"""Tests of cds_service.engine."""
