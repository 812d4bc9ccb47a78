"""Tests of cds_service.core."""
