{#- Fails for every row where the SQL expression is not true (null counts as not
    true). With column_name, the expression is appended to the column:
    `expression: ">= 0"`. -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ column_name ~ ' ' if column_name }}{{ expression }}), false)

{% endtest %}
