{#- Start of the `minutes`-wide bucket holding timestamp `column`, buckets aligned to the
    hour (so `minutes` must divide 60). Built from dbt's cross-database macros. -#}
{% macro minute_bucket(column, minutes) -%}
    {%- if 60 % minutes != 0 -%}
        {{ exceptions.raise_compiler_error("minute_bucket: " ~ minutes ~ " does not divide 60") }}
    {%- endif -%}
    {{ dbt.dateadd(
        'minute',
        'cast(floor(extract(minute from ' ~ column ~ ') / ' ~ minutes ~ '.0) as integer) * ' ~ minutes,
        dbt.date_trunc('hour', column),
    ) }}
{%- endmacro %}
