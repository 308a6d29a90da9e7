"""The strategy core stays pure: it imports only pmbot.model, its own modules and a short list of
standard-library modules -- never venue/sim/state, I/O, threading, time, logging, randomness or
metrics."""

import ast
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

STRATEGY_DIR = os.path.join(ROOT, "pmbot", "strategy")
ALLOWED_STDLIB = {"__future__", "decimal", "dataclasses", "math", "enum", "typing", "collections"}
ALLOWED_PMBOT = {"pmbot.model", "pmbot.rewards"}  # rewards: the venue's score formula, pure too
FORBIDDEN_AT_RUNTIME = (
    "pmbot.venue",
    "pmbot.sim",
    "pmbot.state",
    "pmbot.metrics",
    "pmbot.config",
    "threading",
    "logging",
    "random",
    "socket",
    "prometheus_client",
    "requests",
    "websocket",
    "sqlite3",
)


def _strategy_files():
    files = sorted(
        os.path.join(STRATEGY_DIR, f) for f in os.listdir(STRATEGY_DIR) if f.endswith(".py")
    )
    return [*files, os.path.join(ROOT, "pmbot", "rewards.py")]  # the strategy imports it: same rule


def _imported_modules(path):
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield "pmbot.strategy." + (node.module or "")
            else:
                yield node.module


def test_strategy_package_has_modules():
    names = {os.path.basename(p) for p in _strategy_files()}
    assert {
        "decide.py",
        "quoting.py",
        "risk.py",
        "arbitrage.py",
        "reconcile.py",
        "requote.py",
    } <= names


@pytest.mark.parametrize("path", _strategy_files(), ids=os.path.basename)
def test_module_imports_only_model_and_pure_stdlib(path):
    bad = []
    for module in _imported_modules(path):
        top = module.split(".")[0]
        if module.startswith("pmbot.strategy") or module in ALLOWED_PMBOT:
            continue
        if top == "pmbot" or top not in ALLOWED_STDLIB:
            bad.append(module)
    assert bad == [], f"{os.path.basename(path)} imports {bad}"


def test_importing_strategy_loads_no_io_threading_logging_or_venue_code():
    code = (
        "import sys\n"
        "baseline = set(sys.modules)\n"
        "import pmbot.strategy, pmbot.strategy.arbitrage, pmbot.strategy.legging\n"
        f"forbidden = {FORBIDDEN_AT_RUNTIME!r}\n"
        "loaded = [m for m in forbidden if m in sys.modules and m not in baseline]\n"
        "time_new = 'time' in sys.modules and 'time' not in baseline\n"
        "print(repr((loaded, time_new)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "([], False)"


def test_the_checker_itself_flags_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import threading\nfrom pmbot.venue import ws\nfrom decimal import Decimal\n")
    assert list(_imported_modules(str(bad))) == ["threading", "pmbot.venue", "decimal"]
