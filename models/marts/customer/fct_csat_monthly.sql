{#- One row per month and slice (overall, and by segment) with at least one CSAT
    response; every response counts, a customer answering twice counts twice. -#}
with

responses as (

    select * from {{ ref('fct_survey_responses') }}
    where survey_type = 'csat'

),

response_slices as (

    {{- opsmetrics.dimension_slices(
        'responses',
        [('overall', "'all'"), ('segment', 'segment')],
        ['score', 'is_csat_satisfied', 'submitted_date'],
    ) }}

),

slice_months_counted as (

    select
        dimension_name,
        dimension_value,
        count(*) as responses,
        count(case when is_csat_satisfied then 1 end) as satisfied_responses,
        sum(score) as total_score,
        cast({{ dbt.date_trunc('month', 'submitted_date') }} as date) as month_start_date
    from response_slices
    group by
        dimension_name,
        dimension_value,
        cast({{ dbt.date_trunc('month', 'submitted_date') }} as date)

),

csat_scored as (

    select
        dimension_name,
        dimension_value,
        responses,
        satisfied_responses,
        cast(total_score as {{ opsmetrics.type_double() }}) / responses as csat_score,
        cast(satisfied_responses as {{ opsmetrics.type_double() }}) * 100 / responses as csat_pct,
        month_start_date
    from slice_months_counted

)

select * from csat_scored
