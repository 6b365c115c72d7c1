{#- YYYY-MM-DD, optionally [T or space]HH:MM[:SS[.fraction]] and Z / +HH / +HHMM / +HH:MM,
    after trimming blanks. -#}
{% macro iso_8601_pattern() -%}
    ^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$
{%- endmacro %}
