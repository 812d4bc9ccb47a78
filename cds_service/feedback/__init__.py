"""Clinicians' feedback on cards and the record of cards issued. Imports core only."""
