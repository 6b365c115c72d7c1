{#- One row per month and slice: overall, and by segment, plan and country. Each response
    counts, so a customer answering twice in a period counts twice. The trailing window is
    the 90 days ending on the month's last day; rows exist for every month whose trailing
    window has a response, so a month without responses has a null monthly NPS. -#}
with

responses as (

    select * from {{ ref('fct_survey_responses') }}
    where survey_type = 'nps'

),

response_slices as (

    {{- opsmetrics.dimension_slices(
        'responses',
        [
            ('overall', "'all'"), ('segment', 'segment'), ('plan', 'plan_id'),
            ('country', 'country_code'),
        ],
        ['nps_category', 'submitted_date'],
    ) }}

),

month_bounds as (

    select
        cast({{ dbt.date_trunc('month', 'min(submitted_date)') }} as date)
            as first_month_start_date,
        cast({{ dbt.date_trunc('month', 'max(submitted_date)') }} as date) as last_month_start_date
    from responses

),

months as (

    select
        cast(month_series.month_start_at as date) as month_start_date,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_series.month_start_at')) }}
            as date
        ) as month_end_date
    from month_bounds
    {{ opsmetrics.date_series(
        'month_bounds.first_month_start_date',
        'month_bounds.last_month_start_date',
        'month',
        'month_series',
        'month_start_at',
    ) }}

),

slices as (

    select distinct
        dimension_name,
        dimension_value
    from response_slices

),

slice_months_counted as (

    select
        slices.dimension_name,
        slices.dimension_value,
        count(
            case
                when response_slices.submitted_date >= months.month_start_date
                    then response_slices.nps_category
            end
        ) as responses,
        {%- for category in ['promoter', 'passive', 'detractor'] %}
            count(
                case
                    when response_slices.submitted_date >= months.month_start_date
                        and response_slices.nps_category = '{{ category }}'
                        then response_slices.nps_category
                end
            ) as {{ category }}s,
        {%- endfor %}
        count(response_slices.nps_category) as trailing_90d_responses,
        {%- for category in ['promoter', 'passive', 'detractor'] %}
            count(
                case
                    when response_slices.nps_category = '{{ category }}'
                        then response_slices.nps_category
                end
            ) as trailing_90d_{{ category }}s,
        {%- endfor %}
        months.month_start_date,
        months.month_end_date
    from months
    cross join slices
    inner join response_slices
        on
            slices.dimension_name = response_slices.dimension_name
            and slices.dimension_value = response_slices.dimension_value
            and months.month_end_date >= response_slices.submitted_date
            and response_slices.submitted_date
            > {{ dbt.dateadd('day', -90, 'months.month_end_date') }}
    group by
        slices.dimension_name,
        slices.dimension_value,
        months.month_start_date,
        months.month_end_date

),

nps_scored as (

    select
        dimension_name,
        dimension_value,
        responses,
        promoters,
        passives,
        detractors,
        cast(promoters - detractors as {{ opsmetrics.type_double() }}) * 100 / nullif(responses, 0)
            as nps,
        trailing_90d_responses,
        trailing_90d_promoters,
        trailing_90d_passives,
        trailing_90d_detractors,
        cast(
            trailing_90d_promoters - trailing_90d_detractors as {{ opsmetrics.type_double() }}
        ) * 100 / trailing_90d_responses as trailing_90d_nps,
        month_start_date,
        month_end_date
    from slice_months_counted

)

select * from nps_scored
