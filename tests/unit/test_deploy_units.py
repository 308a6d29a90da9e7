"""systemd units: the settings the kill switch and watchdog rely on, and `systemd-analyze verify`
clean."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

UNITS = ("pmbot.service", "pmbot@.service")


def require_tool(name: str) -> str:
    """Path of ``name``; skip locally when missing, FAIL under CI (CI=true) so a missing tool never
    hides."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is required under CI but is not installed")
        pytest.skip(f"{name} not installed")
    return path


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """systemd's format allows repeated keys, which configparser does not."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"key outside a section: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def read(name: str) -> str:
    with open(os.path.join(ROOT, "deploy", name), encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("name", UNITS)
def test_unit_settings(name):
    unit = parse_unit(read(name))
    svc = unit["Service"]
    one = {k: v[-1] for k, v in svc.items()}
    assert one["Type"] == "notify" and one["NotifyAccess"] == "main"
    assert one["WatchdogSec"] == "30"
    assert one["Restart"] == "on-failure"
    assert one["KillSignal"] == "SIGTERM"
    # The kill switch's cancel-and-verify deadline is 10 s; systemd must wait longer before SIGKILL.
    assert int(one["TimeoutStopSec"]) >= 20
    assert one["EnvironmentFile"] == "-/etc/pmbot/pmbot.env"
    assert one["StateDirectory"] == "pmbot"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    }.items():
        assert one[key] == value, key
    assert one.get("User") == "pmbot" or one.get("DynamicUser") == "yes"
    assert "POLYMARKET_PRIVATE_KEY=" not in "\n".join(
        line for line in read(name).splitlines() if not line.startswith("#")
    )
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_template_takes_one_config_per_shard():
    svc = parse_unit(read("pmbot@.service"))["Service"]
    assert svc["ExecStart"][0].endswith("--config /etc/pmbot/%i.yaml")
    single = parse_unit(read("pmbot.service"))["Service"]
    assert single["ExecStart"][0].endswith("--config /etc/pmbot/pmbot.yaml")


def render(name: str, tmp_path, text: str | None = None) -> str:
    """The unit with ExecStart pointing at binaries that exist here (verify checks the
    executable)."""
    text = read(name) if text is None else text
    text = text.replace("/opt/pmbot/venv/bin/python", sys.executable).replace("/opt/pmbot", ROOT)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def verify(path: str) -> subprocess.CompletedProcess:
    tool = require_tool("systemd-analyze")
    target = path.replace("@.service", "@shard1.service")
    return subprocess.run([tool, "verify", target], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify_is_clean(name, tmp_path):
    result = verify(render(name, tmp_path))
    # verify exits 0 on unknown keys and bad values (it only warns), so any output is a failure too.
    assert result.returncode == 0 and result.stderr.strip() == "" and result.stdout.strip() == "", (
        result.returncode,
        result.stdout,
        result.stderr,
    )


def test_verify_check_catches_a_broken_unit(tmp_path):
    """The check above would notice a mistake: a misspelt key produces output."""
    broken = read("pmbot.service").replace("WatchdogSec=30", "WatchdogSecs=30")
    result = verify(render("pmbot.service", tmp_path, broken))
    assert "WatchdogSecs" in result.stderr
