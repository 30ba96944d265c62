"""The runtime's import graph: no cycles, and arrows only point down the layers.

handlers, cli -> logic -> adapters -> settings, errors -> domain -> contract. Read with
``ast`` (nothing is imported, so no side effect can hide an edge), late imports inside
functions included.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = "omics_autoload_runtime"
ROOT = Path(__file__).resolve().parents[2] / "lambda" / PACKAGE

# Lower rank = lower layer; an import may only go to the same rank or below.
RANK = {"contract": 0, "domain": 1, "settings": 2, "errors": 2, "adapters": 3, "logic": 4, "handlers": 5, "cli": 5}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in ROOT.rglob("*.py")}


def _layer(module: str) -> str | None:
    """contract, domain, ..., cli; None for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _imports(module: str) -> set[str]:
    """Every module ``module`` imports: runtime modules by full name, others by top-level name."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import submodule`` is an edge to the submodule
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names)
    runtime = {name for name in found if name in MODULES and name != module}
    return runtime | {name.split(".")[0] for name in found if not name.startswith(PACKAGE)}


GRAPH = {module: _imports(module) for module in MODULES}


def _edges():
    for source, targets in GRAPH.items():
        for target in targets:
            if target in MODULES:
                yield source, target


def test_the_graph_is_read():
    assert "omics_autoload_runtime.logic.sweep" in GRAPH["omics_autoload_runtime.handlers.completion"]
    assert "omics_autoload_runtime.cli.main" in GRAPH["omics_autoload_runtime.cli"]  # a relative import
    assert "botocore" in GRAPH["omics_autoload_runtime.errors"]
    assert {_layer(m) for m in MODULES} - {None} == set(RANK)


def test_no_import_cycles():
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        for target in sorted(GRAPH[module] & MODULES.keys()):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(MODULES):
        visit(module, [])


def test_imports_only_point_down_the_layers():
    upward = [
        f"{source} -> {target}"
        for source, target in _edges()
        if _layer(source) and _layer(target) and RANK[_layer(target)] > RANK[_layer(source)]
    ]
    assert upward == []


def test_no_handler_imports_another_handler():
    assert [(s, t) for s, t in _edges() if _layer(s) == _layer(t) == "handlers"] == []


def test_only_the_cli_imports_the_cli():
    assert [(s, t) for s, t in _edges() if _layer(t) == "cli" and _layer(s) != "cli"] == []


def test_the_domain_uses_the_standard_library_only():
    outside = {
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if _layer(module) in ("domain", "contract")
        for target in targets
        if (target in MODULES and _layer(target) not in ("domain", "contract"))
        or (target not in MODULES and target not in sys.stdlib_module_names)
    }
    assert outside == set()
