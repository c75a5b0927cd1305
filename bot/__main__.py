"""``python -m bot`` is ``hive-badge-bot``."""

import sys

from bot.cli import main

sys.exit(main())
