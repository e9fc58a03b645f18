"""The extractor as one dependency-free module, for harness files that must score without spinebench.

The exported lmms-eval utils and inspect task import `spinebench_extract.py`, written beside them from this
package's own source: the modules in `_MODULES` order, intra-package imports dropped, `_vocabulary` replaced
by the literal values of its constants. So they read every reply exactly as `spinebench eval` does.
"""

from __future__ import annotations

import ast
import pprint
from importlib import resources
from typing import Final

from spinebench.extract import _vocabulary

STANDALONE_MODULE: Final = "spinebench_extract.py"
# In dependency order: each module uses only names defined above it.
_MODULES: Final = (
    "_letters",
    "_strict",
    "_units",
    "_option_text",
    "_hedges",
    "_tolerant",
    "_reasoning",
    "_refusal",
    "_cascade",
)
_EXPORTED: Final = ("STAGES", "Extraction", "Stage", "extract_answer", "split_reasoning")
_PACKAGE: Final = "spinebench.extract"


def standalone_source(version: str) -> str:
    """The source of `spinebench_extract.py`: the extraction cascade of spinebench `version`, stdlib only."""
    parts = [
        f'"""SpineBench answer extraction (spinebench {version}), written by `spinebench export` from '
        "the package's own code.\n\nStandard library only. Regenerate rather than edit: "
        "`extract_answer(reply, options, multiple=...)` reads replies exactly as `spinebench eval` "
        'does."""\n',
        "from __future__ import annotations\n",
        "# --- _vocabulary: the taxonomy's names, as literals ---",
        *(
            f"{name} = {pprint.pformat(getattr(_vocabulary, name), width=108)}"
            for name in _vocabulary.__all__
        ),
    ]
    defined: dict[str, str] = {name: "_vocabulary" for name in _vocabulary.__all__}
    for module in _MODULES:
        source = resources.files(_PACKAGE).joinpath(f"{module}.py").read_text(encoding="utf-8")
        parts.append(f"\n# --- {module} ---\n{_without_package_imports(source, module, defined)}")
    parts.append(f"__all__ = {list(_EXPORTED)!r}\n")
    return "\n".join(parts)


def _without_package_imports(source: str, module: str, defined: dict[str, str]) -> str:
    """The module's source less its docstring, `from __future__`, `__all__` and spinebench imports, which
    the single module does not need; a top-level name defined by two modules is refused (one would
    silently replace the other)."""
    tree = ast.parse(source)
    drop: set[int] = set()
    for index, node in enumerate(tree.body):
        names = _top_level_names(node)
        if (
            (index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            or (
                isinstance(node, ast.ImportFrom)
                and node.module is not None
                and (node.module == "__future__" or node.module.startswith("spinebench"))
            )
            or names == {"__all__"}
        ):
            drop.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
            continue
        for name in names:
            if name in defined:
                raise ValueError(f"{_PACKAGE}.{module}: {name} is also defined in {defined[name]}")
            defined[name] = module
    lines = source.splitlines()
    kept = [line for number, line in enumerate(lines, start=1) if number not in drop]
    return "\n".join(kept).strip() + "\n"


def _top_level_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {target.id for target in node.targets if isinstance(target, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()
