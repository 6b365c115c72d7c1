{#- The respondent's plan is the plan of the customer's subscription version in force at
    submission with the highest MRR (ties: plan_id); no version in force gives 'none'. -#}
with

responses as (select * from {{ ref('stg_surveys__survey_responses') }}),

customers as (select * from {{ ref('stg_app__customers') }}),

subscription_versions as (select * from {{ ref('int_subscription_versions_priced') }}),

versions_in_force_ranked as (

    select
        responses.response_id,
        subscription_versions.plan_id,
        row_number() over (
            partition by responses.response_id
            order by subscription_versions.mrr_amount desc, subscription_versions.plan_id asc
        ) as plan_rank
    from responses
    inner join subscription_versions
        on
            responses.customer_id = subscription_versions.customer_id
            and responses.submitted_at >= subscription_versions.valid_from
            and (
                subscription_versions.valid_to is null
                or responses.submitted_at < subscription_versions.valid_to
            )

),

responses_enriched as (

    select
        responses.response_id,
        responses.customer_id,
        responses.user_id,
        responses.survey_type,
        coalesce(customers.segment, 'unknown') as segment,
        coalesce(customers.country_code, 'unknown') as country_code,
        coalesce(versions_in_force_ranked.plan_id, 'none') as plan_id,
        case
            when responses.survey_type = 'nps' and responses.score >= 9 then 'promoter'
            when responses.survey_type = 'nps' and responses.score >= 7 then 'passive'
            when responses.survey_type = 'nps' then 'detractor'
        end as nps_category,
        cast(responses.score as integer) as score,
        case
            when responses.survey_type = 'csat' then responses.score >= 4
        end as is_csat_satisfied,
        cast(responses.submitted_at as date) as submitted_date,
        responses.submitted_at
    from responses
    left join customers
        on responses.customer_id = customers.customer_id
    left join versions_in_force_ranked
        on
            responses.response_id = versions_in_force_ranked.response_id
            and versions_in_force_ranked.plan_rank = 1

)

select * from responses_enriched
