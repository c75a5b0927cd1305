"""A local Hive API node for tests, benchmarks and the demo: JSON-RPC over HTTP on 127.0.0.1.

It serves a chain source — :class:`~bot.devnet.generator.ChainGenerator` (seeded, realistic modern blocks) or
:class:`~bot.devnet.recorded.RecordedChain` (real mainnet block JSON) — through
:class:`~bot.devnet.node.DevNode`, answering the calls beem and the bot make in ``block_api``,
``database_api``, ``condenser_api`` and ``bridge`` form, and failing loudly on any other. Broadcast
transactions are checked as hived checks them and go into the next block (:mod:`bot.devnet.ledger`);
:class:`~bot.devnet.users.DevUser` acts as a chain account through beem. The bot never imports this
package; ``python -m bot.devnet`` runs a node by hand.
"""
