{#- The quarantine reason of a row whose foreign key `column` is not among the staged
    parents: `parent_quarantined` when the parent exists in raw (`raw_parent`, the
    parent's base model, every raw version) but was itself quarantined, else
    `orphan_foreign_key`. Used inside the `when <key> not in (staged parents)` branch. -#}
{% macro foreign_key_reason(column, raw_parent, parent_key) -%}
    case
        when {{ column }} in (
            select {{ raw_parent }}.{{ parent_key }} from {{ raw_parent }}
            where {{ raw_parent }}.{{ parent_key }} is not null
        )
            then 'parent_quarantined'
        else 'orphan_foreign_key'
    end
{%- endmacro %}
