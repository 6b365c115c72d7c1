{#- Users are the funnel's unit, grouped by sign-up month and their account's acquisition
    channel. Steps are cumulative: activated within the activation window, then the account's
    first paid subscription version starting no later than funnel_conversion_window_days
    after the user's sign-up (a user invited into an already paying account converts). -#}
with

users as (select * from {{ ref('dim_users') }}),

customers as (select * from {{ ref('stg_app__customers') }}),

subscription_versions as (select * from {{ ref('int_subscription_versions_priced') }}),

customers_first_paid as (

    select
        customer_id,
        min(valid_from) as first_paid_at
    from subscription_versions
    where is_revenue_generating and mrr_amount > 0
    group by customer_id

),

users_staged as (

    select
        users.user_id,
        coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
        users.is_activated,
        coalesce(
            customers_first_paid.first_paid_at
            <= {{ dbt.dateadd('day', var('funnel_conversion_window_days'), 'users.created_at') }},
            false
        ) as has_paid_within_window,
        users.created_month_start_date
    from users
    left join customers
        on users.customer_id = customers.customer_id
    left join customers_first_paid
        on users.customer_id = customers_first_paid.customer_id

),

funnel_counted as (

    select
        acquisition_channel,
        count(*) as signed_up_users,
        count(case when is_activated then 1 end) as activated_users,
        count(case when is_activated and has_paid_within_window then 1 end) as paid_users,
        created_month_start_date as cohort_month_start_date
    from users_staged
    group by acquisition_channel, created_month_start_date

),

conversion_computed as (

    select
        acquisition_channel,
        signed_up_users,
        activated_users,
        paid_users,
        cast(activated_users as {{ opsmetrics.type_double() }}) / signed_up_users
            as activation_conversion_rate,
        cast(paid_users as {{ opsmetrics.type_double() }}) / nullif(activated_users, 0)
            as paid_conversion_rate,
        cast(paid_users as {{ opsmetrics.type_double() }}) / signed_up_users
            as overall_conversion_rate,
        cohort_month_start_date
    from funnel_counted

)

select * from conversion_computed
