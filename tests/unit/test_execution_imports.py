"""The execution package never imports the venue package: the composition root passes the REST
client, the order signing and the open-orders parser in through Protocols."""

import ast
import os
import subprocess
import sys

from tests.conftest import ROOT

EXECUTION_DIR = os.path.join(ROOT, "pmbot", "execution")


def _imports(path):
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield ("pmbot.execution." if node.level else "") + node.module


def test_no_execution_module_imports_the_venue_package():
    files = [f for f in os.listdir(EXECUTION_DIR) if f.endswith(".py")]
    assert "executor.py" in files and "cancel_lane.py" in files
    offenders = {
        f: mod
        for f in files
        for mod in _imports(os.path.join(EXECUTION_DIR, f))
        if mod == "pmbot.venue" or mod.startswith("pmbot.venue.")
    }
    assert offenders == {}


def test_importing_the_executor_loads_nothing_of_the_venue_package():
    code = (
        "import sys, pmbot.execution.executor; "
        "print(sorted(m for m in sys.modules if m.startswith('pmbot.venue')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
