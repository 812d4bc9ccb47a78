"""nerve-cds: a CDS Hooks 2.0 service for pinched nerves, cauda equina red flags and twitching."""
from .app import create_app

__all__ = ["create_app"]
