"""The layout's rules, checked on the source: packages import only downwards, no module imports
itself in a circle, no module is too long, no file is named run.py."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "distilkit"
# Pipeline order, bottom first: a package may import itself and the ones before it, never later ones.
LAYERS = [
    "errors",
    "runtime",
    "config",
    "data",
    "modeling",
    "inference",
    "training",
    "runs",
    "teacher",
    "distillation",
    "pretraining",
    "deploy",
    "report",
    "commands",
    "workflows",
    "api",
    "cli",
    "__init__",
]
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """Every ``distilkit...`` module a file imports (at module level or inside functions); for
    ``from distilkit.data import task`` that is the submodule, not the package."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("distilkit"):
            subs = {f"{node.module}.{a.name}" for a in node.names} & modules
            found.update(subs if len(subs) == len(node.names) else subs | {node.module})
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("distilkit"))
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in SRC.rglob("*.py")}
    return {name: {m for m in imports(path, set(modules)) if m in modules and m != name} for name, path in modules.items()}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_packages_import_only_downwards():
    upward = [f"{a} -> {b}" for a, targets in graph().items() for b in targets if LAYERS.index(layer(b)) > LAYERS.index(layer(a))]
    assert not upward, "imports that point up the pipeline:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_package_is_a_known_layer():
    assert {layer(m) for m in graph()} <= set(LAYERS)


def test_modules_are_short_and_none_is_called_run():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"
    assert not list(SRC.rglob("run.py"))


def test_the_checker_catches_an_upward_import_and_a_cycle(tmp_path, monkeypatch):
    """The rules above can fail: a data module importing the teacher, and two modules importing each other."""
    root = tmp_path / "distilkit"
    for rel, text in {
        "__init__.py": "",
        "data/__init__.py": "",
        "data/a.py": "from distilkit.teacher import b\n",
        "teacher/__init__.py": "",
        "teacher/b.py": "from distilkit.data import a\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "SRC", root)
    edges = graph()
    assert "distilkit.teacher.b" in edges["distilkit.data.a"] and "distilkit.data.a" in edges["distilkit.teacher.b"]
    try:
        test_packages_import_only_downwards()
    except AssertionError as exc:
        assert "distilkit.data.a -> distilkit.teacher.b" in str(exc)
    else:
        raise AssertionError("the upward import was not caught")
    try:
        test_no_import_cycles()
    except AssertionError as exc:
        assert "distilkit.data.a" in str(exc)
    else:
        raise AssertionError("the cycle was not caught")
