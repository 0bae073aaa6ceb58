"""The package's layout is its architecture: folders import only folders below them.

Golden-rule logic sits in plain domain folders; Celery tasks and Flask views are thin
adapters above them; the factories wire the adapters in; nothing below reaches up. Every
import counts, those inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import infoshare_workflow

PACKAGE = Path(infoshare_workflow.__file__).parent
# From the bottom. A folder (or a module at the package's top) may import its own modules
# and anything in a lower layer; never a higher one, nor another folder of its own layer.
LAYERS: list[set[str]] = [
    {"__init__", "vocabulary"},
    {"settings", "monitoring", "schemas"},
    {"storage"},
    {"records", "people", "timeliness"},
    {"access"},
    {"mail"},
    {"sharing"},
    {"cases"},
    {"review", "notices"},
    {"schedules"},
    {"tasks", "webhooks"},
    {"service"},
    {"cli"},
    {"wsgi", "worker"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def room_of(module: str) -> str:
    """The top-level folder or module of the package that `module` lives in."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module of ours that `path` imports, resolved to an absolute name."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.update(f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base
                         for alias in node.names)
    return {name for name in found if name == "infoshare_workflow" or name.startswith("infoshare_workflow.")}


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def modules() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))
            if "migrations" not in path.parts}


def test_every_top_level_folder_and_module_has_a_layer():
    rooms = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()
             if (path.suffix == ".py" or (path / "__init__.py").exists())}
    assert rooms == set(RANK)


def test_no_folder_imports_a_folder_above_it_or_beside_it():
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in modules().items()
        for target in targets
        if room_of(target) != room_of(module) and RANK[room_of(target)] >= RANK[room_of(module)]
    )
    assert wrong == []


def test_the_core_imports_neither_flask_nor_celery():
    adapters = {"tasks", "webhooks", "service", "cli", "wsgi", "worker", "monitoring"}
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        module = module_name(path)
        if room_of(module) in adapters or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{module} imports {n}" for n in names if n.split(".")[0] in ("flask", "celery", "werkzeug")]
    assert wrong == []


def test_no_module_imports_itself_round_a_cycle():
    graph = {module: {t for t in targets if t in modules_ and t != module}
             for modules_ in [modules()] for module, targets in modules_.items()}
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
