{#- Every person has either an owner or a queue, never both and never neither: a lead nobody
    holds is the failure routing exists to prevent. -#}
select person_id, owner_email, queue
from {{ ref('lead_routing') }}
where (owner_email is null) = (queue is null)
