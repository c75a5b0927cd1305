"""The board and the ranking: a read-only web app over the bot's store (``hive-badge-bot serve``).

- :mod:`bot.web.board`: what a page shows, loaded from the store (``load_``) and shaped for JSON (pure);
- :mod:`bot.web.images`: the badge images (Pillow), one per metric and threshold;
- :mod:`bot.web.routes`: the routes, the pages (Jinja2, autoescaped) and the security headers.

The app is built by :func:`bot.app.open_web`, a process of its own beside the daemon: several can serve
one store behind a proxy. Its endpoints are ``async`` and read the store on the event loop's thread, so
the one read-only connection (SQLite, or a PostgreSQL session of read-only transactions) is never shared
between threads; every read is an index lookup or walk of a few milliseconds. On PostgreSQL that is one
session per ``serve`` process, as psycopg wants a connection used by one thread at a time: no pool
(``psycopg_pool``) — the loop would still read one request at a time, and more boards are more
processes. A session the server ended (a restart, a failover) is made again at the next read, and a
request that met it is answered once more on the new one; while the server cannot be reached, every
page, ``/healthz`` included, answers 503. ``web.replica`` points the board at a hot standby.
"""
