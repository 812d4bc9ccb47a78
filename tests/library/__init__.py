"""Tests of cds_service.library."""
