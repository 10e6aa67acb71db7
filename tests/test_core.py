"""The dependency rule of `poetvae/core`: it imports torch, safetensors, the standard library and
itself, nothing else, at any depth (inside functions too)."""

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "poetvae" / "core"
ALLOWED = {"torch", "safetensors", *sys.stdlib_module_names}


def imports(source: str) -> list[str]:
    """Every module an `import` or `from ... import` of the source names; relative ones keep
    their dots (`.checkpoint`, `..hub`)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


def outside(name: str) -> bool:
    if name.startswith(".."):  # above core: the rest of the package
        return True
    if name.startswith(".") or name == "poetvae.core" or name.startswith("poetvae.core."):
        return False
    return name.split(".")[0] not in ALLOWED


def test_the_check_sees_imports_at_any_depth():
    source = "import os\ndef f():\n    from tqdm import tqdm\n    from ..hub import x\n"
    assert [n for n in imports(source) if outside(n)] == ["tqdm", "..hub"]


def test_core_imports_only_torch_safetensors_and_the_standard_library():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 5
    found = [
        f"{path.relative_to(CORE)}: {name}"
        for path in files
        for name in imports(path.read_text(encoding="utf-8"))
        if outside(name)
    ]
    assert found == []
