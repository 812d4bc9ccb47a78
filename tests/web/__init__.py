"""Tests of cds_service.web."""
