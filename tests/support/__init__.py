"""What the tests share: block builders, configs, a generated chain and the bot run on it, the daemon as a
subprocess, an independent recount, a clock a test moves by hand. Test modules import from here, never
from one another (``tests/test_architecture.py`` checks it)."""
