"""Reviewed YAML validated by pydantic, with errors that name the file and the line.

ruamel.yaml's round-trip loader keeps the line of every key and list item; a pydantic
error's `loc` (the path to the bad value) is walked through that structure to the deepest
node that has a position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from opsmetrics.alerts import AlertConfigError

Model = TypeVar("Model", bound=BaseModel)


def load_yaml(path: Path) -> Any:
    """The YAML document of `path` with line positions; a syntax error names file:line."""
    try:
        text = path.read_text()
    except OSError as error:
        raise AlertConfigError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise AlertConfigError(f"{path}:{line}: invalid YAML: {error.problem}") from None


def line_of(document: Any, loc: tuple[Any, ...]) -> int:
    """1-based line of the value at `loc` in a round-trip document (or of its nearest
    ancestor that has a position)."""
    line, node = 1, document
    for key in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(key, int) and isinstance(node, list):
                if lc is not None:
                    line = lc.item(key)[0] + 1
                node = node[key]
            elif isinstance(node, dict) and key in node:
                if lc is not None:
                    line = lc.key(key)[0] + 1
                node = node[key]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    return line


def validate(model: type[Model], document: Any, path: Path, context: dict | None = None) -> Model:
    """`document` as `model`, or an AlertConfigError listing every problem as file:line."""
    try:
        return model.model_validate(document, context=context)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            loc = tuple(part for part in item["loc"] if not _is_union_tag(part))
            where = ".".join(str(part) for part in loc) or "document"
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{path}:{line_of(document, loc)}: {where}: {message}")
        raise AlertConfigError("\n".join(problems)) from None


def _is_union_tag(part: Any) -> bool:
    """pydantic inserts the chosen member of a tagged union (e.g. 'threshold') in loc."""
    return isinstance(part, str) and (part.startswith("function-") or part in _UNION_TAGS)


_UNION_TAGS: set[str] = set()


def register_union_tags(*tags: str) -> None:
    """Tags of discriminated unions, left out of the paths of error messages."""
    _UNION_TAGS.update(tags)
