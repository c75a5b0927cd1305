"""``hive-badge-bot serve``: the command serves the config's store until SIGTERM; without a store, a clear error."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Config
from tests.support.configs import write_config


def test_serve_without_a_store_says_so_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, ["http://127.0.0.1:9"])
    assert main(["serve", "--config", str(path)]) == 1
    assert "no store there yet" in capsys.readouterr().err
    assert not (tmp_path / "state" / "bot.sqlite").exists()


def test_serve_answers_on_the_configured_address_and_stops_cleanly_on_sigterm(
    config: Config, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_config(
        tmp_path, ["http://127.0.0.1:9"], store=str(config.store), web={"listen": f"127.0.0.1:{port}"}
    )
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config", str(path)])
    try:
        body = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/status", timeout=2) as answer:
                    body = answer.read()
            except OSError:
                time.sleep(0.1)
        assert b'"checkpoint"' in body
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
    finally:
        server.kill()
        server.wait()
