{#- A group's cap is repeated on each of its rules; two different caps would make the cap
    depend on which row SQL happens to read, so they must agree. -#}
select rule_group
from {{ ref('engagement_rules') }}
group by rule_group
having count(distinct group_cap) > 1
