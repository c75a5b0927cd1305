"""A local Hive API node for tests, benchmarks and the demo: JSON-RPC over HTTP on 127.0.0.1.

It serves a chain source — :class:`~devnet.generator.ChainGenerator` (seeded, realistic modern blocks) or
:class:`~devnet.recorded.RecordedChain` (real mainnet block JSON) — through
:class:`~devnet.node.DevNode`, answering the calls beem and the bot make in ``block_api``,
``database_api``, ``condenser_api`` and ``bridge`` form, and failing loudly on any other. Broadcast
transactions are checked as hived checks them and go into the next block (:mod:`devnet.ledger`);
:class:`~devnet.users.DevUser` acts as a chain account through beem. ``python -m devnet`` runs a node by
hand.

A distribution of its own (``devnet/pyproject.toml``), installed for the tests, the benchmarks and the demo,
never part of the bot's wheel. The bot never imports it, but for ``hive-badge-bot demo``'s entry point, lazily;
it imports from the bot only what a program running the bot would (``bot.app``, ``bot.config``,
``bot.logs``, ``bot.store``, for the demo). ``tests/test_architecture.py`` holds both rules.
"""
