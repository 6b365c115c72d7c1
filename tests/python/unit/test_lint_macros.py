"""scripts/ci/lint_macros.py (`make lint`): the SQL inside macro bodies is linted and
reported at the macro file's own lines."""

from __future__ import annotations

from contextlib import chdir

import pytest
from ci import lint_macros

from opsmetrics import PROJECT_DIR

MACROS = """\
{#- A select list, an implementation in its own dialect, data only, and no SQL. -#}
{% macro kpis(columns, scale=2) -%}
    count(*) as requests,
    round(sum({{ columns | join(' + ') }}), {{ scale }}) AS total
{%- endmacro %}

{% macro spark__series(start_date, alias) -%}
    lateral view explode(sequence({{ start_date }}, current_date())) {{ alias }} as day
{%- endmacro %}

{% macro tables() -%}
    {{ return(['a', 'b']) }}
{%- endmacro %}

{% macro broken() -%}
    select from from
{%- endmacro %}
"""


@pytest.fixture(scope="module")
def linted(tmp_path_factory: pytest.TempPathFactory) -> list:
    path = tmp_path_factory.mktemp("macros") / "kpis.sql"
    path.write_text(MACROS)
    with chdir(PROJECT_DIR):  # the house .sqlfluff
        return lint_macros.lint_file(path, *lint_macros.house_linters())


def test_a_violation_is_reported_at_the_macro_files_line(linted) -> None:
    assert [(v.line, v.column, v.code) for v in linted if v.code != "PRS"] == [(4, 58, "CP01")]


def test_sql_that_parses_in_no_wrapper_is_an_error(linted) -> None:
    (error,) = [v for v in linted if v.code == "PRS"]
    assert (error.line, error.description.split(":")[0]) == (15, "broken")
