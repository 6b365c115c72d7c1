{#- Fails when the model is empty while `upstream` (a relation, e.g. the base model
    holding every raw row) is not: a source quarantined in full must stop the build,
    not publish empty marts. Independent of the quarantine thresholds. -#}
{% test not_empty_when(model, upstream) %}

select count(*) as upstream_rows
from {{ upstream }}
having
    count(*) > 0
    and (select count(*) from {{ model }}) = 0

{% endtest %}
