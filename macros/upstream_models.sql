{#- The unique ids of every model `unique_id` reads, directly or through other models,
    from the graph (execute time only). -#}
{% macro upstream_models(unique_id) -%}
    {%- set upstream = [] -%}
    {%- set queue = [unique_id] -%}
    {#- The loop walks the queue while it grows: breadth first over depends_on. -#}
    {%- for node_id in queue -%}
        {%- for parent in graph.nodes[node_id].depends_on.nodes
            if parent.startswith('model.') and parent not in upstream -%}
            {%- do upstream.append(parent) -%}
            {%- do queue.append(parent) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(upstream) }}
{%- endmacro %}
