"""Tests of cds_service.hooks."""
