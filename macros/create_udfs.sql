{#- on-run-start: the helper functions some adapters lack (DuckDB has try_cast and
    json_valid built in, Spark try_cast and try_parse_json; Postgres gets small PL/pgSQL
    equivalents). -#}
{% macro create_udfs() -%}
    {{ return(adapter.dispatch('create_udfs', 'opsmetrics')()) }}
{%- endmacro %}

{% macro default__create_udfs() -%}
    select 1
{%- endmacro %}

{% macro postgres__create_udfs() -%}
    create schema if not exists {{ target.schema }};

    {#- Text matching iso_8601_pattern() (see parse_timestamp_utc) as timestamptz, else
        null. Fractions beyond microseconds are truncated, as DuckDB does, not rounded. #}
    create or replace function {{ target.schema }}.opsmetrics_try_timestamptz(value text)
    returns timestamptz language plpgsql immutable set timezone = 'UTC' as $$
    begin
        if trim(value) !~ '{{ opsmetrics.iso_8601_pattern() }}' then
            return null;
        end if;
        return regexp_replace(trim(value), '(\.\d{6})\d+', '\1')::timestamptz;
    exception when others then
        return null;
    end;
    $$;

    create or replace function {{ target.schema }}.opsmetrics_try_date(value text)
    returns date language plpgsql immutable as $$
    begin
        if value !~ '^\s*\d{4}-\d{2}-\d{2}\s*$' then
            return null;
        end if;
        return trim(value)::date;
    exception when others then
        return null;
    end;
    $$;

    {#- The session's PII salt (hash_pii): the custom setting opsmetrics.pii_salt, set
        outside SQL text (PGOPTIONS or the role's settings), so no literal holds it. #}
    create or replace function {{ target.schema }}.opsmetrics_pii_salt()
    returns text language plpgsql stable as $$
    declare
        salt text := current_setting('opsmetrics.pii_salt', true);
    begin
        if salt is null or salt = '' then
            raise exception 'PII salt missing: set opsmetrics.pii_salt for the session '
                '(PGOPTIONS=''-c opsmetrics.pii_salt=...'' or alter role ... set opsmetrics.pii_salt)';
        end if;
        return salt;
    end;
    $$;

    create or replace function {{ target.schema }}.opsmetrics_is_json(value text)
    returns boolean language plpgsql immutable as $$
    begin
        if value is null then
            return null;
        end if;
        perform value::json;
        return true;
    exception when others then
        return false;
    end;
    $$;
{%- endmacro %}
