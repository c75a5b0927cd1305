"""The Hive badge bot: counts what accounts do on Hive and congratulates them, honoring STOP."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hive-badge-bot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
