{#- on-run-start hook: a `--full-refresh` run on a warehouse whose raw data were pruned
    (`opsmetrics prune` logs each prune in retention.prune_log) would rebuild the
    incremental marts from what raw still holds and lose the history of every pruned
    day, so it is refused with one clear error, unless var allow_full_refresh_after_prune
    is true (a new data set, or a deliberate rebuild of the retained window only). -#}
{% macro refuse_full_refresh_after_prune() -%}
    {%- if execute and flags.FULL_REFRESH and not var('allow_full_refresh_after_prune') -%}
        {%- set log = adapter.get_relation(
            database=target.database, schema='retention', identifier='prune_log'
        ) -%}
        {%- if log is not none -%}
            {%- set pruned = run_query(
                'select count(*), cast(max(loaded_before) as ' ~ dbt.type_string() ~ ') from ' ~ log
            ) -%}
            {%- if pruned.columns[0].values()[0] > 0 -%}
                {{ exceptions.raise_compiler_error(
                    "refusing --full-refresh: raw data loaded before "
                    ~ pruned.columns[1].values()[0]
                    ~ " were pruned (retention.prune_log), so a full refresh would drop the "
                    ~ "marts' history of those days; run without --full-refresh, or pass "
                    ~ "--vars '{allow_full_refresh_after_prune: true}' to rebuild only what "
                    ~ "raw still holds"
                ) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}
