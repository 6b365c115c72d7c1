{#- The columns an event name splits into (names follow object_action; feature events are
    feature_<name>_<action>, so the feature name is what lies between "feature_" and the
    last underscore): `event_object`, `event_action` and `feature_name`, from the column
    `event_name`. stg_product__events shows them; fct_events computes them again on the
    events its incremental run selects, because a view's regexps run on every staged
    event before a join filters them (docs/decisions.md, Issue 13 session 11). -#}
{% macro event_name_parts(event_name) -%}
    {{ opsmetrics.regexp_replace(event_name, '_[a-z0-9]+$', '') }} as event_object,
    {{ opsmetrics.regexp_replace(event_name, '^.*_', '') }} as event_action,
    case
        when {{ event_name }} like 'feature!_%!_%' escape '!'
            then {{ opsmetrics.regexp_replace(
                event_name, '^feature_(.+)_[a-z0-9]+$', '\\1'
            ) }}
    end as feature_name
{%- endmacro %}
