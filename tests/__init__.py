"""The test suite: one folder per subpackage of cds_service, golden scenarios, project-wide checks."""
