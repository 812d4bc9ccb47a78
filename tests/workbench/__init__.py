"""Tests of cds_service.workbench."""
