{#- Fails when the newest value of `field` is older than `interval` `datepart`s
    before now (or the model is empty). -#}
{% test recency(model, field, datepart, interval) %}

select max({{ field }}) as most_recent
from {{ model }}
having
    max({{ field }}) is null
    or max({{ field }}) < {{ dbt.dateadd(datepart, -1 * interval, dbt.current_timestamp()) }}

{% endtest %}
