"""Tests of cds_service.tools."""
