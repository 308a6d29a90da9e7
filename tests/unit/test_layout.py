"""The package layout rules of issue 12 (items 3 and 6), checked statically from the source:

* no module in ``pmbot/`` over 400 lines (the simulator included);
* no function or method over 60 lines, except the declarative tables named in ``TABLES``;
* only ``pmbot/venue/`` and the composition roots import ``pmbot.venue`` (the venue package is the
  only one that speaks HTTP/WebSocket, and only the roots wire it to the rest);
* ``pmbot/strategy/`` imports nothing of pmbot but ``pmbot.model`` and itself (it stays pure);
* no import cycle between pmbot modules.

Imports are read with ``ast`` from every module, at any depth (an import inside a function is still
a dependency). Imports under ``if TYPE_CHECKING:`` count for the two dependency rules (a type-only
import of the venue still couples a module to it; Protocols are the way out) but not for cycles,
which they cannot cause at run time.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Declarative tables allowed past MAX_FUNCTION_LINES, by qualified name ("pmbot.x:Class.method").
# Keep it short and justify each entry; empty is the goal.
TABLES: frozenset[str] = frozenset()
# Modules allowed to import pmbot.venue besides pmbot.venue itself: the composition root, and the
# separate programs that build their own venue (the simulator, a backtester, a scanner).
VENUE_IMPORTERS = (
    "pmbot.runner",
    "pmbot.runner_parts",
    "pmbot.runner_modes",
    "pmbot.sim",
    "pmbot.backtest",
    "pmbot.scan",
    "pmbot.doctor",
)
# pmbot.rewards: the venue's reward formula, pure (model and stdlib only)
STRATEGY_MAY_IMPORT = ("pmbot.model", "pmbot.strategy", "pmbot.rewards")


@dataclass
class Module:
    name: str
    path: Path
    rel: str  # the path relative to the root the package was loaded from
    lines: int
    tree: ast.Module
    imports: dict[str, bool] = field(default_factory=dict)  # target -> only under TYPE_CHECKING


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def load_package(root: Path, package: str = "pmbot") -> dict[str, Module]:
    """Every module of ``package`` under ``root``, parsed, with its resolved pmbot imports."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = module_name(root, path)
        tree = ast.parse(text, filename=str(path))
        rel = str(path.relative_to(root))
        modules[name] = Module(name, path, rel, len(text.splitlines()), tree)
    for mod in modules.values():
        mod.imports = imports_of(mod, set(modules), package)
    return modules


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for inner in node.body:
                    guarded.update(id(n) for n in ast.walk(inner))
    return guarded


def _resolve(mod: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.name.split(".")
    if mod.path.name != "__init__.py":
        base.pop()  # a module's relative imports start from its package
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(mod: Module, known: set[str], package: str) -> dict[str, bool]:
    """The ``package`` modules ``mod`` imports -> True when every such import is type-only.
    ``from a.b import c`` names the module ``a.b.c`` when that is a module, else ``a.b``."""
    guarded = _type_checking_nodes(mod.tree)
    found: dict[str, bool] = {}

    def add(target: str, node: ast.AST) -> None:
        if target == package or target.startswith(package + "."):
            only_typing = id(node) in guarded
            found[target] = found.get(target, True) and only_typing

    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(mod, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in known else base, node)
    found.pop(mod.name, None)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def long_modules(modules: dict[str, Module]) -> list[str]:
    return [f"{m.rel}: {m.lines} lines" for m in modules.values() if m.lines > MAX_MODULE_LINES]


def long_functions(modules: dict[str, Module]) -> list[str]:
    out = []
    for mod in modules.values():
        for qualname, node in _functions(mod.tree):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            key = f"{mod.name}:{qualname}"
            if length > MAX_FUNCTION_LINES and key not in TABLES:
                out.append(f"{key} ({mod.rel}:{node.lineno}): {length} lines")
    return out


def _functions(tree: ast.AST, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.<locals>.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def venue_importers(modules: dict[str, Module]) -> list[str]:
    allowed = ("pmbot.venue", *VENUE_IMPORTERS)
    return [
        f"{m.name} imports {target}" + (" (under TYPE_CHECKING)" if typing_only else "")
        for m in modules.values()
        if not any(_within(m.name, a) for a in allowed)
        for target, typing_only in sorted(m.imports.items())
        if _within(target, "pmbot.venue")
    ]


def impure_strategy_imports(modules: dict[str, Module]) -> list[str]:
    return [
        f"{m.name} imports {target}"
        for m in modules.values()
        if _within(m.name, "pmbot.strategy")
        for target in sorted(m.imports)
        if not any(_within(target, ok) for ok in STRATEGY_MAY_IMPORT)
    ]


def import_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), run-time imports only,
    each as a sorted list of module names."""
    graph = {
        name: sorted(t for t, typing_only in m.imports.items() if not typing_only and t in modules)
        for name, m in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # recursion depth is bounded by the module count (~100)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(cycles)


# ------------------------------------------------------------------------------ the rules on pmbot/


@pytest.fixture(scope="module")
def pmbot_modules() -> dict[str, Module]:
    modules = load_package(Path(ROOT))
    assert "pmbot.runner" in modules and "pmbot.venue.rest" in modules  # the walk found the tree
    return modules


def test_no_module_over_400_lines(pmbot_modules):
    found = long_modules(pmbot_modules)
    assert found == [], "modules over 400 lines:\n" + "\n".join(found)


def test_no_function_over_60_lines(pmbot_modules):
    found = long_functions(pmbot_modules)
    assert found == [], "functions over 60 lines:\n" + "\n".join(found)


def test_only_venue_and_the_composition_roots_import_venue(pmbot_modules):
    found = venue_importers(pmbot_modules)
    assert found == [], "modules outside venue/ and the roots importing it:\n" + "\n".join(found)


def test_strategy_imports_only_model_and_itself(pmbot_modules):
    found = impure_strategy_imports(pmbot_modules)
    assert found == [], "strategy/ imports beyond model and itself:\n" + "\n".join(found)


def test_no_import_cycles(pmbot_modules):
    found = import_cycles(pmbot_modules)
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_allow_listed_tables_exist(pmbot_modules):
    """An allow-list entry for a function that no longer exists (or is short now) is stale."""
    lengths = {
        f"{m.name}:{q}": (n.end_lineno or n.lineno) - n.lineno + 1
        for m in pmbot_modules.values()
        for q, n in _functions(m.tree)
    }
    stale = sorted(t for t in TABLES if lengths.get(t, 0) <= MAX_FUNCTION_LINES)
    assert stale == [], f"TABLES entries that are gone or within the limit: {stale}"


# ------------------------------------------------------------- the checker itself, on a toy package


def _toy(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    for rel, text in files.items():
        path = tmp_path / "pmbot" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return load_package(tmp_path)


def test_checker_finds_a_cycle_through_a_function_level_import(tmp_path):
    modules = _toy(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pmbot import b\n",
            "b.py": "def f():\n    from . import c\n",
            "c.py": "import pmbot.a\n",
            "d.py": "import typing\nif typing.TYPE_CHECKING:\n    from pmbot import a\n",
            "e.py": "from pmbot.a import something\n",
        },
    )
    assert modules["pmbot.b"].imports == {"pmbot.c": False}
    assert modules["pmbot.d"].imports == {"pmbot.a": True}
    assert modules["pmbot.e"].imports == {"pmbot.a": False}
    assert import_cycles(modules) == [["pmbot.a", "pmbot.b", "pmbot.c"]]


def test_checker_finds_venue_importers_and_impure_strategy(tmp_path):
    modules = _toy(
        tmp_path,
        {
            "__init__.py": "",
            "model.py": "",
            "runner.py": "from pmbot.venue.rest import Rest\n",
            "venue/__init__.py": "",
            "venue/rest.py": "from pmbot import model\n",
            "trading/__init__.py": "",
            "trading/engine.py": "def f():\n    from ..venue import rest\n",
            "strategy/__init__.py": "",
            "strategy/decide.py": "from pmbot.model import X\nfrom .risk import y\n"
            "import pmbot.venue\n",
            "strategy/risk.py": "from pmbot.strategy import decide\n",
        },
    )
    assert venue_importers(modules) == [
        "pmbot.strategy.decide imports pmbot.venue",
        "pmbot.trading.engine imports pmbot.venue.rest",
    ]
    assert impure_strategy_imports(modules) == ["pmbot.strategy.decide imports pmbot.venue"]
    assert import_cycles(modules) == [["pmbot.strategy.decide", "pmbot.strategy.risk"]]


def test_checker_measures_modules_and_functions_including_nested_and_methods(tmp_path):
    def body(indent: int) -> str:
        return "".join(" " * indent + f"x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES - 1))

    modules = _toy(
        tmp_path,
        {
            "__init__.py": "",
            "ok.py": f"def fits():\n{body(4)}",  # exactly the limit
            "big.py": (
                "class C:\n    def m(self):\n        pass\n\n        def inner():\n"
                + body(12) * 2
                + "\n" * MAX_MODULE_LINES
            ),
        },
    )
    assert long_functions(modules) == [
        f"pmbot.big:C.m ({os.path.join('pmbot', 'big.py')}:2): {2 * MAX_FUNCTION_LINES + 2} lines",
        f"pmbot.big:C.m.<locals>.inner ({os.path.join('pmbot', 'big.py')}:5): "
        f"{2 * MAX_FUNCTION_LINES - 1} lines",
    ]
    assert [m.split(":")[0] for m in long_modules(modules)] == [os.path.join("pmbot", "big.py")]
