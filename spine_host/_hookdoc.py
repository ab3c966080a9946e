"""Render ``docs/hooks.md`` from the hook specifications (``python -m spine_host._hookdoc``).

The reference is generated, never hand-edited: ``tests/test_hooks_doc.py`` fails when the file
differs from what this module renders, so a changed hook signature cannot go undocumented.
"""

from __future__ import annotations

import inspect
import sys

from spine_host import hookspecs

__all__ = ["hook_names", "render", "signature_of"]

_HEADER = """\
# Hook reference

Generated from `spine_host/hookspecs.py` by `python -m spine_host._hookdoc > docs/hooks.md`;
`tests/test_hooks_doc.py` fails when this file and the specs drift apart.

Implement a hook in the module your distribution lists under `[project.entry-points.spine]`:

```python
from spine_host import hookimpl

@hookimpl
def spine_register_sources(register):
    register("prices", PriceSource)
```

Registration hooks receive a `register` callable; two plugins registering one name without
`replace=True` is a conflict that names both. Event hooks are observers: every implementation
runs, and one that raises is logged without stopping the others. `spine_classify_error` is a
decision hook: the first non-None answer wins.
"""


def hook_names() -> list[str]:
    """Every hook spec, in the order they are declared."""
    functions = [
        value
        for name, value in vars(hookspecs).items()
        if name.startswith("spine_") and inspect.isfunction(value)
    ]
    functions.sort(key=lambda function: function.__code__.co_firstlineno)
    return [function.__name__ for function in functions]


def signature_of(name: str) -> str:
    """``spine_hook(arg: Type) -> Return`` exactly as declared (annotations as written)."""
    signature = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(
        f"{param.name}: {param.annotation}" for param in signature.parameters.values()
    )
    return f"{name}({params}) -> {signature.return_annotation}"


def render() -> str:
    """The whole Markdown reference."""
    parts = [_HEADER]
    for name in hook_names():
        function = getattr(hookspecs, name)
        firstresult = getattr(function, "spine_spec", {}).get("firstresult", False)
        kind = " (firstresult)" if firstresult else ""
        parts.append(f"## `{name}`{kind}\n")
        parts.append(f"```python\n{signature_of(name)}\n```\n")
        parts.append(inspect.cleandoc(function.__doc__ or "").rstrip() + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
