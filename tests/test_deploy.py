"""The systemd units in ``deploy/systemd/``: each runs a command of the CLI, holds the sandbox a service
with a key should have, and loads in systemd (``systemd-analyze verify``, where the machine has it)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from bot.app import CREDENTIAL
from tests.support.paths import ROOT

UNITS = ROOT / "deploy" / "systemd"
BOT, WEB = "hive-badge-bot.service", "hive-badge-bot-web.service"
COMMANDS = {BOT: "run", WEB: "serve"}
INSTALLED = "/opt/hive-badge-bot/bin/hive-badge-bot"
"""Where the README's install puts the command, as the units name it."""

SANDBOX = {
    "DynamicUser": "yes",
    "User": "hive-badge-bot",
    "Group": "hive-badge-bot",
    "StateDirectory": "hive-badge-bot",
    "StateDirectoryMode": "0700",
    "UMask": "0077",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "Restart": "on-failure",
    "RestartPreventExitStatus": "2",
    "KillSignal": "SIGTERM",
}
"""Settings both units must have, with their values (a repeated key: its last value)."""


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Each section's settings, every value of a repeated key in order (comments and blank lines left out)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), defaultdict(list))
            continue
        key, _, value = line.partition("=")
        current[key.strip()].append(value.strip())
    return sections


def service(name: str) -> dict[str, list[str]]:
    return parse_unit((UNITS / name).read_text())["Service"]


def test_the_repository_ships_a_unit_for_run_and_one_for_serve() -> None:
    assert sorted(path.name for path in UNITS.glob("*.service")) == sorted(COMMANDS)
    for name, command in COMMANDS.items():
        argv = shlex.split(service(name)["ExecStart"][-1])
        assert argv[:2] == [INSTALLED, command] and argv[2:] == ["--config", "/etc/hive-badge-bot/bot.yaml"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_unit_holds_the_sandbox(name: str) -> None:
    settings = service(name)
    assert {key: settings[key][-1] for key in SANDBOX if key in settings} == SANDBOX
    assert "@system-service" in settings["SystemCallFilter"]


def test_both_units_run_as_one_user_on_one_state_directory() -> None:
    """One dynamic UID for both while either runs: the board can open the bot's private (0600) store."""
    keys = ("DynamicUser", "User", "Group", "StateDirectory")
    assert {key: service(BOT)[key] for key in keys} == {key: service(WEB)[key] for key in keys}


def test_only_the_bots_unit_is_given_the_posting_key_as_the_credential_the_bot_reads() -> None:
    credentials = [value.partition(":")[0] for value in service(BOT)["LoadCredential"]]
    assert credentials == [CREDENTIAL]
    assert not any(key.startswith(("LoadCredential", "SetCredential")) for key in service(WEB))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_unit_loads_in_systemd_with_its_command_pointed_at_this_venv(name: str, tmp_path: Path) -> None:
    """The copy's command is this venv's (systemd checks that it is executable); the command line must be
    one the CLI accepts. ``systemd-analyze verify`` then loads the copy: it exits 0 on a unit it cannot
    use, so its warnings about the unit count as failures too."""
    executable = Path(sys.executable).parent / "hive-badge-bot"
    for unit in COMMANDS:
        (tmp_path / unit).write_text((UNITS / unit).read_text().replace(INSTALLED, str(executable)))
    copy = tmp_path / name
    argv = shlex.split(service(name)["ExecStart"][-1])
    accepted = subprocess.run([executable, *argv[1:], "--help"], capture_output=True, text=True, timeout=60)
    assert accepted.returncode == 0, accepted.stderr
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # not a systemd machine: the command line above is what can be checked here
        return
    verified = subprocess.run(
        [analyze, "verify", "--man=no", "--recursive-errors=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert verified.returncode == 0, verified.stderr
    assert [line for line in verified.stderr.splitlines() if name in line] == []


NO_WRITABLE_EXECUTABLE_MEMORY = """
import ctypes, mmap, sys
# PR_SET_MDWE with PR_MDWE_REFUSE_EXEC_GAIN (Linux 6.3): the kernel's own form of MemoryDenyWriteExecute=
active = ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) == 0
if active:
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except PermissionError:
        pass
    else:
        sys.exit("writable and executable memory is still allowed")
print(f"memory_deny_write_execute={active}", file=sys.stderr)
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow  # the demo as a subprocess, ~10 s
def test_the_bot_signs_and_posts_without_writable_executable_memory() -> None:
    """The units set ``MemoryDenyWriteExecute=yes``: the demo (following, counting, signing with beem,
    posting) runs under the same rule, set by the kernel where it can (Linux 6.3 and later)."""
    demo = subprocess.run(
        [sys.executable, "-c", NO_WRITABLE_EXECUTABLE_MEMORY, "demo", "--seconds", "8"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert re.search(r"notifications posted:\s+[1-9]", demo.stdout), demo.stdout
    assert "memory_deny_write_execute=" in demo.stderr
