with source as (

    select * from {{ source('hubspot', 'companies') }}

)

select
    id as company_id,
    nullif(trim(name), '') as company_name,
    lower(nullif(trim(domain), '')) as domain,
    nullif(trim(industry), '') as industry,
    cast(numberofemployees as integer) as number_of_employees,
    cast(annualrevenue as {{ dbt.type_float() }}) as annual_revenue,
    coalesce(archived, false) as is_deleted,
    updated_at
from source
