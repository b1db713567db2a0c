"""The tree's shape holds: no module imports in a circle, and imports go one way.

web and cli -> (services, reports) -> pipeline -> store -> (triage, routing, channels).
Read from the source with `ast`, so an import inside a function counts too; an import
under `if TYPE_CHECKING:` names a type for the checker and is never run, so it does not.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("intake", "channels", "triage", "routing")
# Which layer of intake/ may import which (a module imports its own layer freely).
LAYERS = {
    "intake.store": set(),
    "intake.pipeline": {"intake.store"},
    "intake.web": {"intake.store", "intake.pipeline", "intake.services", "intake.reports"},
}
LIBRARIES = {"triage", "routing", "channels"}  # never import the service


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports (a `from package import module` counts as the
    module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for block in ast.walk(tree):  # names only for the type checker: never imported
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            block.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    found.add(f"{base}.{alias.name}")
                elif base in known:
                    found.add(base)
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the list of its modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            # A package's __init__ importing its own submodules is how packages work.
            if target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _layer(module: str) -> str | None:
    return next((layer for layer in LAYERS if module.startswith(layer)), None)


def test_no_module_imports_in_a_circle() -> None:
    assert _cycle(_graph()) is None


def test_the_check_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_imports_go_one_way() -> None:
    wrong = []
    for module, targets in _graph().items():
        for target in targets:
            top = module.split(".")[0]
            if top in LIBRARIES and target.startswith("intake"):
                wrong.append(f"{module} -> {target}")
            layer, target_layer = _layer(module), _layer(target)
            if layer is None or target.split(".")[0] != "intake" or target_layer == layer:
                continue
            allowed = LAYERS[layer]
            if not any(target.startswith(prefix) for prefix in allowed) and target not in {
                "intake.settings"
            }:
                wrong.append(f"{module} -> {target}")
    assert wrong == []
