"""The hooks the service answers (registry.py), each hook's context model and the request model.

Imports only core: the library, data and engine packages read the registry, never the reverse."""
