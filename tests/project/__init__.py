"""Project-wide checks: architecture, types, deployment files, the clinical safety document."""
