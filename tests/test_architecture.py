"""The shape of the house (../shared/STYLE.md), checked by parsing the code: floors, not circles.

- explorer/ never imports streamlit;
- the import graph of explorer/ has no cycle, imports inside functions included (only ``if TYPE_CHECKING:``
  blocks are left out: they never run);
- no module imports another module's private (``_name``) names, and none uses a private name of
  scikit-learn, pandas or numpy;
- the root of explorer/ holds a dozen or so modules beside its packages, and no module grows past a
  size that says it holds more than one job.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "explorer"
ROOT_MODULES_MAX = 14  # errors, events, limits, validation, dataset, device, metrics, project, neighbors, ...
MODULE_LINES_MAX = 500  # a module this long holds more than one job: split it by concept


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                skip.update(id(x) for x in ast.walk(sub))
    return skip


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(absolute module, imported names, line) of every import in the module, at any depth."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            out.append((module, [a.name for a in node.names], node.lineno))
    return out


def _resolve(module: str) -> str | None:
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for module, names, _ in _imports(name, path):
            if not module.startswith("explorer"):
                continue
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES] or [module]
            for target in targets:
                resolved = _resolve(target)
                if resolved and resolved != name:
                    graph[name].add(resolved)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_explorer_never_imports_streamlit():
    for name, path in MODULES.items():
        for module, _, line in _imports(name, path):
            assert module.split(".")[0] != "streamlit", f"{path}:{line} imports streamlit"


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles (each line one cycle):\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_private_names_across_modules():
    found = []
    for name, path in MODULES.items():
        for module, names, line in _imports(name, path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            top = module.split(".")[0]
            if private and (top == "explorer" or top in ("sklearn", "pandas", "numpy", "scipy")):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {', '.join(private)} from {module}")
            if top in ("sklearn", "pandas", "numpy") and any(p.startswith("_") for p in module.split(".")[1:]):
                found.append(f"{path.relative_to(ROOT)}:{line} imports the private module {module}")
    assert not found, "\n".join(found)


def test_the_root_holds_a_dozen_modules_beside_its_packages():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert len(modules) <= ROOT_MODULES_MAX, f"{len(modules)} modules at explorer/: {modules}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_short(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MODULE_LINES_MAX, f"{MODULES[name].relative_to(ROOT)} has {lines} lines: split it by concept"
