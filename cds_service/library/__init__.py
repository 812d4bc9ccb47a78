"""The card library in cards/: services, value sets, findings, rules, orders, sources and
settings, loaded and cross-checked once (loader.py). Imports hooks (for hook names) and core."""
