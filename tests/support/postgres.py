"""A real PostgreSQL server for the tests: the developer's own, or a throw-away cluster on 127.0.0.1.

Two ways, chosen by the session fixtures in ``tests/conftest.py``:

- ``HIVE_BADGE_BOT_TEST_POSTGRES=postgresql://user@host/db`` names a server of the developer's: the role
  needs ``CREATEDB`` (it creates one database per test session, named ``hive_badge_bot_test_…``, and drops
  it at the end with ``DROP DATABASE … WITH (FORCE)``: PostgreSQL 13 or newer). Passwords come the libpq
  ways (``PGPASSWORD``, ``~/.pgpass``), never in the URL you commit anywhere.
- Otherwise :func:`cluster` makes one: ``initdb`` into a fresh directory of the system's temporary
  directory, ``pg_ctl start -w``, and at the end ``pg_ctl stop -m fast`` and the directory removed (a
  ``finally``: also when tests fail, or pytest is interrupted with Ctrl-C, SIGTERM (``tests/conftest.py``
  makes it Ctrl-C's) or its timeout; only SIGKILL of pytest leaves it behind, in
  ``$TMPDIR/hive-badge-bot-postgres-*``). The server binaries are found on
  ``PATH`` first (a developer's choice), then in Debian's ``/usr/lib/postgresql/<N>/bin``, newest N.

The throw-away cluster, and why each choice:

- **An unprivileged user.** PostgreSQL refuses to run as root. Run as root (CI in a container), the
  server runs as the dedicated system user ``hive-badge-bot-test``, created when missing (no home, no
  shell): it owns nothing but the cluster's directory, unlike Debian's ``postgres`` user, which owns the
  machine's real clusters. Run as anyone else, the server runs as that user, who owns the directory
  ``mkdtemp`` made: nothing needs changing (checked as ``nobody``).
- **Trust, on loopback only.** ``--auth=trust``: no password to manage. It listens on 127.0.0.1 on a free
  port (asked of the kernel, then handed over: another process could take it in between; the start would
  then fail with the server's log in the error) and on a Unix socket inside its directory. Any local user
  can connect while the tests run; the cluster holds test data only.
- **Fast, not durable.** ``fsync``, ``synchronous_commit`` and ``full_page_writes`` off, ``initdb
  --no-sync``: a crash of the machine may lose or corrupt the cluster, which is thrown away anyway. Never
  use these settings for the bot's own store.
- **Not a stray process.** ``pg_ctl`` daemonizes the server (it is re-parented away from pytest), so the
  per-test stray-process guard in ``tests/conftest.py`` never sees it among pytest's children; session
  fixtures are set up before function ones anyway.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

ENV = "HIVE_BADGE_BOT_TEST_POSTGRES"
"""The environment variable naming a developer's own server (a ``postgresql://`` URL)."""
TEST_USER = "hive-badge-bot-test"
"""The system user the throw-away server runs as when the tests run as root."""
DEBIAN = Path("/usr/lib/postgresql")
"""Where Debian's packages put each major version's server binaries: ``<N>/bin``."""
SUPERUSER = "postgres"
"""The superuser role ``initdb`` creates in the throw-away cluster."""
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
"""Speed over durability: a throw-away cluster of tests only."""


@dataclass(frozen=True, slots=True)
class Account:
    """Who runs the server's programs."""

    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class Cluster:
    url: str
    """The superuser's URL to the ``postgres`` database, over TCP on 127.0.0.1."""
    directory: Path
    """Holds ``data/``, the server's log and its Unix socket; removed at the end."""

    @property
    def data(self) -> Path:
        return self.directory / "data"


def find_binaries(path: str | None = None, debian: Path = DEBIAN) -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: from ``PATH`` if there, else Debian's newest."""
    on_path = shutil.which("initdb", path=path)
    if on_path is not None and shutil.which("pg_ctl", path=str(Path(on_path).parent)):
        return Path(on_path).parent
    versions = sorted(
        (directory for directory in debian.glob("*/bin") if (directory / "initdb").is_file()),
        key=lambda directory: tuple(int(part) for part in directory.parent.name.split(".") if part.isdigit()),
    )
    if not versions:
        raise FileNotFoundError(
            f"the tests need a PostgreSQL server, and found no initdb on PATH nor in {debian}/<N>/bin: "
            f"run ./scripts/test.sh as root (it installs it), or apt-get install postgresql, "
            f"or set {ENV}=postgresql://user@host/db to use your own server"
        )
    return versions[-1]


def own_server(environ: Mapping[str, str]) -> str | None:
    """The developer's server named in ``environ`` (checked to be a URL), or None."""
    url = environ.get(ENV)
    if not url:
        return None
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise ValueError(f"{ENV} must be a postgresql://user@host/db URL, not {url!r}")
    return url


@contextmanager
def session_database(environ: Mapping[str, str], cluster_url: Callable[[], str]) -> Iterator[str]:
    """A database of its own on the developer's server if ``environ`` names one, else on ``cluster_url()``."""
    with database(own_server(environ) or cluster_url()) as url:
        yield url


@contextmanager
def database(server_url: str) -> Iterator[str]:
    """Create a database with a name of its own on ``server_url``; yield its URL; drop it at the end."""
    name = f"hive_badge_bot_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def cluster(settings: Mapping[str, str] = SETTINGS) -> Iterator[Cluster]:
    """A throw-away cluster, started; stopped and its directory removed at the end, whatever happens.
    ``settings``: its ``postgresql.conf`` lines beyond where it listens (the tests' are fast, not durable;
    a benchmark comparing stores passes durable ones)."""

    def start(binaries: Path, account: Account | None, directory: Path) -> str:
        return _start(binaries, account, directory, settings)

    with _directory("hive-badge-bot-postgres-", start) as started:
        yield started


@contextmanager
def replica(primary: Cluster) -> Iterator[Cluster]:
    """A hot standby of ``primary`` (a :func:`cluster`), streaming from it: ``pg_basebackup -R`` into a
    directory of its own, started on another free port as the same user; stopped and removed at the end.
    Its URL names the ``postgres`` database, as the primary's: change the path for another database."""

    def start(binaries: Path, account: Account | None, directory: Path) -> str:
        source = urlsplit(primary.url)
        copy = [
            str(_beside(binaries, "pg_basebackup")),
            "-D",
            str(directory / "data"),
            "-R",
            "--checkpoint=fast",
        ]
        _run(
            account, directory, [*copy, "-h", "127.0.0.1", f"--port={source.port}", f"--username={SUPERUSER}"]
        )
        return _configure_and_start(binaries, account, directory, SETTINGS)

    with _directory("hive-badge-bot-postgres-replica-", start) as started:
        yield started


def _beside(binaries: Path, name: str) -> Path:
    """The server's program ``name``: in ``binaries``, else beside the real ``initdb`` (``PATH`` may hold
    links to a few of them only)."""
    here = binaries / name
    return here if here.exists() else (binaries / "initdb").resolve().parent / name


Start = Callable[[Path, Account | None, Path], str]
"""Makes and starts a server in a directory; its superuser URL."""


@contextmanager
def _directory(prefix: str, start: Start) -> Iterator[Cluster]:
    """A server made by ``start`` in a new directory, as :func:`server_account`; stopped and the directory
    removed at the end, whatever happens."""
    binaries = find_binaries()
    account = server_account()
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if account is not None:
            os.chown(directory, account.uid, account.gid)
        with _running(binaries, account, directory, start) as url:
            yield Cluster(url, directory)
    finally:
        shutil.rmtree(directory)


@contextmanager
def _running(binaries: Path, account: Account | None, directory: Path, start: Start) -> Iterator[str]:
    """The server in ``directory``, started; stopped at the end, also when its start was interrupted after
    the server came up (its ``postmaster.pid`` says so)."""
    try:
        yield start(binaries, account, directory)
    finally:
        if (directory / "data" / "postmaster.pid").exists():
            _pg_ctl(binaries, account, directory, "stop", "-m", "fast")


@contextmanager
def stopped(server: Cluster) -> Iterator[None]:
    """``server`` stopped (``pg_ctl stop -m fast``: its sessions ended) while open, then started again on
    the same port and data: a server's restart, or an outage, as its clients meet it."""
    binaries, account = find_binaries(), server_account()
    _pg_ctl(binaries, account, server.directory, "stop", "-m", "fast")
    try:
        yield
    finally:
        _pg_ctl(
            binaries, account, server.directory, "start", "-w", "-l", str(server.directory / "server.log")
        )


def server_account() -> Account | None:
    """Who runs the server: ourselves (None) unless we are root, then the dedicated user."""
    if os.geteuid() != 0:
        return None
    if not _user_exists():
        _add_user()
    entry = pwd.getpwnam(TEST_USER)
    return Account(entry.pw_uid, entry.pw_gid)


def _add_user() -> None:
    """Create the dedicated user; another test session may be creating it at the same moment."""
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    argv = [useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent"]
    done = subprocess.run([*argv, "--shell", "/usr/sbin/nologin", TEST_USER], capture_output=True, text=True)
    if done.returncode != 0 and not _user_exists():
        raise RuntimeError(f"could not create the system user {TEST_USER} to run PostgreSQL: {done.stderr}")


def _user_exists() -> bool:
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        return False
    return True


def _start(binaries: Path, account: Account | None, directory: Path, settings: Mapping[str, str]) -> str:
    """initdb, configure (``settings``) and start the server in ``directory``; its superuser URL."""
    initdb = [
        str(binaries / "initdb"),
        "-D",
        str(directory / "data"),
        "--auth=trust",
        f"--username={SUPERUSER}",
    ]
    _run(account, directory, [*initdb, "--no-locale", "--encoding=UTF8", "--no-sync"])
    return _configure_and_start(binaries, account, directory, settings)


def _configure_and_start(
    binaries: Path, account: Account | None, directory: Path, settings: Mapping[str, str]
) -> str:
    """Listen on a free port of 127.0.0.1 and a socket in ``directory`` (the last setting in the file wins:
    a replica's copy of its primary's is overridden), then start; the superuser URL."""
    data, port = directory / "data", free_port()
    where = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(directory)}
    with (data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{name} = {_quoted(value)}\n" for name, value in {**where, **settings}.items())
    log = directory / "server.log"
    try:
        _pg_ctl(binaries, account, directory, "start", "-w", "-l", str(log))
    except RuntimeError as error:
        raise RuntimeError(f"{error}\nthe server's log:\n{_read(log)}") from None
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _pg_ctl(binaries: Path, account: Account | None, directory: Path, *args: str) -> None:
    _run(account, directory, [str(binaries / "pg_ctl"), *args, "-D", str(directory / "data")])


def _run(account: Account | None, directory: Path, argv: list[str]) -> None:
    """Run one of the server's programs as ``account``, in ``directory``, with a plain environment, in a
    session of its own: a Ctrl-C reaches pytest alone, which lets the program finish (killed, ``initdb``
    would leave its bootstrap backend writing into the directory being removed), then cleans up."""
    process = subprocess.Popen(
        argv,
        cwd=directory,
        env={"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        user=None if account is None else account.uid,
        group=None if account is None else account.gid,
        extra_groups=None if account is None else [],
        start_new_session=True,
    )
    try:
        output, _ = process.communicate()
    except BaseException:
        process.communicate()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}): {output}")


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else "(none)"
