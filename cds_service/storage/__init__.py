"""What the service remembers: clinicians' feedback, the cards it issued (for analytics) and the
JWT ids it has seen (replay protection). interface.py is all the HTTP layer sees; sql*.py is the
SQLAlchemy implementation (one engine per database URL) with Alembic migrations. Imports core only."""
