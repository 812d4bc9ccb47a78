"""Tests of cds_service.storage."""
