"""The board and the ranking: a read-only web app over the bot's store (``hive-badge-bot serve``).

- :mod:`bot.web.board`: what a page shows, loaded from the store (``load_``) and shaped for JSON (pure);
- :mod:`bot.web.images`: the badge images (Pillow), one per metric and threshold;
- :mod:`bot.web.routes`: the routes, the pages (Jinja2, autoescaped) and the security headers.

The app is built by :func:`bot.app.open_web`, a process of its own beside the daemon: several can serve
one store behind a proxy. Its endpoints are ``async`` and read the store on the event loop's thread, so
the one read-only SQLite connection is never shared between threads; every read is an index lookup or
walk of a few milliseconds.
"""
