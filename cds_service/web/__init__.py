"""The HTTP surface: the Flask app factory, the CDS Hooks endpoints, errors, CORS, and
authentication of CDS clients. The top of the import graph below tools."""
