"""The one family of errors an operator can fix without a code change: settings, trust file,
card library. The command line prints them as one line and exits non-zero, never a traceback."""
from __future__ import annotations


class ConfigError(ValueError):
    """Something the operator configured is wrong; the message names the file or variable and the place."""
