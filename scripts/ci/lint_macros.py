"""sqlfluff over the SQL that the project's macros emit, reported at the macro's own file
and line (`make lint`).

sqlfluff's dbt templater skips macro files: they render to nothing, and a macro's output
inside a model is template code there, never linted. Here each `{% macro %}` (and generic
`{% test %}`) body, and each `{% set name %}…{% endset %}` block of SQL within one, is
rendered on its own with sqlfluff's Jinja templater, its SQL text kept as literal source at
its place in the file: the rest of the file becomes a Jinja comment of the same lines,
and the block's tags become template code that wraps the SQL in the smallest statement
that parses (the SQL itself, a CTE list, `case` branches, a select list, an `order by`
list; a type for macros named `type_*`). Calls to other macros, `dbt.*`, `target`, `var`
and the macro's arguments render as placeholder names (sqlfluff's dummy values), so only
the macro's own SQL is judged. Each implementation is linted in its engine's dialect
(`duckdb__`, `postgres__`, `spark__`; `default__` in Postgres's, the engine that runs it),
the others in the house dialect of .sqlfluff.

Usage: python scripts/ci/lint_macros.py PATH...  (folders or .sql files); exit code 1 when
there are violations or some SQL parses in no wrapper.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jinja2
from sqlfluff.core import FluffConfig, Linter

# A body's indentation follows its call site's (a `when` branch sits where the model's
# `case` is), so it is judged in the models; the file's end is not the macro's SQL.
EXCLUDED_RULES = ("layout.indent", "layout.end_of_file")
# `default__` is what Postgres runs where there is no `postgres__` (sqlfluff's ANSI dialect
# lacks `within group`).
DIALECTS = {"duckdb": "duckdb", "postgres": "postgres", "spark": "sparksql", "default": "postgres"}
MACRO_OPENING = re.compile(
    r"\{%[-+]?\s*(?P<kind>macro|test)\s+(?P<name>\w+)\s*\(.*?\)\s*[-+]?%\}", re.S
)
MACRO_CLOSING = re.compile(r"\{%(?P<left>[-+]?)\s*end(?:macro|test)\s*[-+]?%\}")
SET_OPENING = re.compile(r"\{%[-+]?\s*set\s+(?P<name>\w+)\s*[-+]?%\}")
SET_CLOSING = re.compile(r"\{%(?P<left>[-+]?)\s*endset\s*[-+]?%\}")
TEMPLATE_CODE = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
CTE_NAME = re.compile(r"^(\w+) as \($", re.M)
# Template code around the SQL, in the order tried: the first that parses is linted.
WRAPPERS = (
    ("statement", "", ""),
    ("cte list", "with ", "\nselect * from {last_cte}"),
    ("case branches", "select case ", " end"),
    ("select list", "select\n", "\nfrom t"),
    ("order by list", "select 1 from t order by\n", ""),
    ("join", "select * from t\n", ""),
)
# A type (`double precision`) would parse as a column and its alias: tried alone.
TYPE_WRAPPERS = (("type", "select cast(null as ", ")"),)
# Bodies no wrapper can make a statement of, and why.
NOT_LINTED = {
    "iso_8601_pattern": "a regular expression, not SQL",
    "requests_in_scope": "a CTE's whole query is another macro's call, a placeholder here",
    "api_requests_rollup": "a CTE list starts with another macro's call, a placeholder here",
    "recency": "its `interval` argument is multiplied in template code",
    "delete_rebuilt_customer_mrr": "its CTEs' whole queries are other macros' calls",
}
# dbt's `return` ends the macro; here it renders nothing.
PRELUDE = "{% macro return(value) %}{% endmacro %}"
NO_DEFAULT = object()


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    column: int
    code: str
    description: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.description}"


@dataclass(frozen=True)
class Block:
    """SQL between two tags of a file: a macro's body, or a `{% set %}` block in one."""

    macro: str
    arguments: tuple[tuple[str, object], ...]  # (name, literal default or NO_DEFAULT)
    opening: re.Match[str]
    closing: re.Match[str]
    inner: tuple[Block, ...] = ()  # the body's set blocks: captured, rendered nothing

    def sql(self, text: str) -> str:
        """The block's SQL text: the block without template code and set blocks."""
        body = text[self.opening.end() : self.closing.start()]
        for block in self.inner:
            body = body.replace(text[block.opening.start() : block.closing.end()], "")
        return TEMPLATE_CODE.sub("", body)

    def wrappers(self) -> tuple[tuple[str, str, str], ...]:
        return TYPE_WRAPPERS if self.macro.split("__")[-1].startswith("type_") else WRAPPERS

    def dialect(self, house_dialect: str) -> str:
        prefix, separator, _ = self.macro.partition("__")
        return DIALECTS.get(prefix, house_dialect) if separator else house_dialect

    def line(self, text: str) -> int:
        return text.count("\n", 0, self.opening.start()) + 1


def _arguments(opening: re.Match[str]) -> tuple[tuple[str, object], ...]:
    """The macro's arguments with their literal defaults, from Jinja's own parser."""
    signature = opening.group(0).replace(opening.group("kind"), "macro", 1)
    (macro,) = jinja2.Environment().parse(signature + "{% endmacro %}").body
    defaults = [NO_DEFAULT] * (len(macro.args) - len(macro.defaults)) + [
        default.value if isinstance(default, jinja2.nodes.Const) else NO_DEFAULT
        for default in macro.defaults
    ]
    return tuple((arg.name, default) for arg, default in zip(macro.args, defaults, strict=True))


def _closing(pattern: re.Pattern[str], text: str, opening: re.Match[str]) -> re.Match[str]:
    closing = pattern.search(text, opening.end())
    if closing is None:
        raise ValueError(f"{opening.group('name')}: no closing tag for {opening.group(0)}")
    return closing


def blocks(text: str) -> list[Block]:
    """Every macro body of `text`, each followed by its set blocks. An implementation
    (`duckdb__name`) takes the literal defaults of the file's `name` macro."""
    found = []
    openings = list(MACRO_OPENING.finditer(text))
    defaults = {
        (opening.group("name"), argument): default
        for opening in openings
        for argument, default in _arguments(opening)
    }
    for opening in openings:
        closing = _closing(MACRO_CLOSING, text, opening)
        name = opening.group("name")
        entry = name.partition("__")[2] or name
        arguments = tuple(
            (
                argument,
                defaults.get((entry, argument), NO_DEFAULT) if default is NO_DEFAULT else default,
            )
            for argument, default in _arguments(opening)
        )
        inner = tuple(
            Block(name, arguments, set_opening, _closing(SET_CLOSING, text, set_opening))
            for set_opening in SET_OPENING.finditer(text, opening.end(), closing.start())
        )
        found += [Block(name, arguments, opening, closing, inner), *inner]
    return found


def _as_comment(region: str) -> str:
    """`region` as a Jinja comment of the same lines (nothing of it renders)."""
    return "{#" + "\n" * region.count("\n") + "#}" if region else ""


def _placeholders(block: Block, text: str, reserved: set[str]) -> str:
    """Template code giving each argument its literal default, or else a placeholder: an
    undefined name, which renders as itself (a keyword gets a trailing `_`); an argument
    looped over as `for a, b in argument` is one row of names as strings, one joined
    (`argument | join`) a list of one name."""
    body = text[block.opening.end() : block.closing.start()]

    def placeholder(name: str) -> str:
        return name + "_" * (name.upper() in reserved)

    def value(name: str, default: object) -> str:
        if default is not NO_DEFAULT:
            return repr(default)
        if loop := re.search(rf"for ((?:\w+, )+\w+) in {name}\b", body):
            return repr([tuple(map(placeholder, loop.group(1).split(", ")))])
        if re.search(rf"\b{name} \| join\b", body):
            return repr([placeholder(name)])
        return placeholder(name)

    return "".join(
        "{% set " + name + " = " + value(name, default) + " %}" for name, default in block.arguments
    )


def lint_source(text: str, block: Block, prefix: str, suffix: str, reserved: set[str]) -> str:
    """The file with only `block`'s SQL left as literal text, on its own lines, wrapped in
    `prefix` and `suffix` (template code)."""
    opening, closing = block.opening, block.closing
    start = PRELUDE + _as_comment(text[: opening.start()]) + _placeholders(block, text, reserved)
    start += "{{ " + repr(prefix) + " }}" if prefix else ""
    start += _as_comment(opening.group(0))
    end = "{%" + closing.group("left") + " if false %}{% endif %}"
    end += "{{ " + repr(suffix + "\n") + " }}"
    end += _as_comment(text[closing.start() :])
    return start + text[opening.end() : closing.start()] + end


def _parses(linter: Linter, source: str, path: Path) -> bool:
    parsed = linter.parse_string(source, fname=str(path))
    return (
        not parsed.violations
        and parsed.tree is not None
        and not any(parsed.tree.recursive_crawl("unparsable"))
    )


def lint_file(path: Path, linters: dict[str, Linter], house_dialect: str) -> list[Violation]:
    text = path.read_text()
    violations = []
    for block in blocks(text):
        sql = block.sql(text)
        if not sql.strip() or block.macro in NOT_LINTED:
            continue
        linter = linters[block.dialect(house_dialect)]
        reserved = linter.config.get("dialect_obj").sets("reserved_keywords")
        last_cte = ([None, *CTE_NAME.findall(sql)])[-1] or "t"
        sources = (
            lint_source(text, block, prefix, suffix.format(last_cte=last_cte), reserved)
            for _, prefix, suffix in block.wrappers()
        )
        source = next((source for source in sources if _parses(linter, source, path)), None)
        if source is None:
            tried = ", ".join(name for name, _, _ in block.wrappers())
            violations.append(
                Violation(
                    path, block.line(text), 1, "PRS", f"{block.macro}: parses as none of: {tried}"
                )
            )
            continue
        linted = linter.lint_string(source, fname=str(path))
        violations += [
            Violation(path, v.line_no, v.line_pos, v.rule_code(), v.desc())
            for v in linted.get_violations()
        ]
    return violations


def _linter(dialect: str, excluded_rules: str) -> Linter:
    return Linter(
        config=FluffConfig.from_root(
            overrides={
                "dialect": dialect,
                "templater": "jinja",
                # Arguments and dbt's context render as placeholder names.
                "ignore": "templating",
                # A second variant renders one `if` on a placeholder true and another
                # false, which no call does (CTEs reported unused).
                "render_variant_limit": 1,
                "exclude_rules": excluded_rules,
            }
        )
    )


def sql_files(paths: list[str]) -> list[Path]:
    files = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files += sorted(path.rglob("*.sql"))
        elif path.suffix == ".sql":
            files.append(path)
        else:
            raise SystemExit(f"lint_macros: {name} is neither a folder nor a .sql file")
    return files


def house_linters() -> tuple[dict[str, Linter], str]:
    """A linter per dialect with the house rules of .sqlfluff (found from the working
    directory), and the house dialect."""
    house = FluffConfig.from_root()
    house_dialect = house.get("dialect")
    excluded_rules = ",".join([house.get("exclude_rules"), *EXCLUDED_RULES])
    linters = {
        dialect: _linter(dialect, excluded_rules) for dialect in {house_dialect, *DIALECTS.values()}
    }
    return linters, house_dialect


def main(paths: list[str]) -> int:
    linters, house_dialect = house_linters()
    files = sql_files(paths)
    violations = [v for path in files for v in lint_file(path, linters, house_dialect)]
    for violation in violations:
        print(violation)
    print(f"lint_macros: {len(files)} files, {len(violations)} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
