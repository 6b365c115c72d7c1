{#- `column` with the first match of `pattern` (a POSIX/Java-compatible regular expression
    without flags) replaced by `replacement`, where \1 .. \9 refer to capture groups. Every
    pattern in the project is anchored or matches at most once, so "first" and "every"
    match agree (Spark replaces every match). -#}
{% macro regexp_replace(column, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace', 'opsmetrics')(column, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace(column, pattern, replacement) -%}
    regexp_replace({{ column }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{#- Spark (Java regex) writes a group reference as $1 and reads a backslash in a string
    literal as an escape. -#}
{% macro spark__regexp_replace(column, pattern, replacement) -%}
    {%- set spark = namespace(replacement=replacement | replace("$", "\\$")) -%}
    {%- for group in range(1, 10) -%}
        {%- set spark.replacement = spark.replacement | replace("\\" ~ group, "$" ~ group) -%}
    {%- endfor -%}
    regexp_replace(
        {{ column }},
        '{{ pattern | replace("\\", "\\\\") }}',
        '{{ spark.replacement }}'
    )
{%- endmacro %}
