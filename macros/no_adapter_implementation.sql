{#- The `default__` of a dispatched macro that has no portable SQL: a compilation error
    naming the macro, the adapter, and where its implementation goes. -#}
{% macro no_adapter_implementation(macro_name) -%}
    {{ exceptions.raise_compiler_error(
        macro_name ~ " has no implementation for the " ~ adapter.type() ~ " adapter: add "
        ~ adapter.type() ~ "__" ~ macro_name ~ " to macros/" ~ macro_name ~ ".sql") }}
{%- endmacro %}
