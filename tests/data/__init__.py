"""Tests of cds_service.data."""
