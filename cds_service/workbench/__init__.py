"""The informatics workbench: explain cards, preview a library change, read clinicians' feedback."""
