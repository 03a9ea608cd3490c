{#- What the Salesforce Lead sync reads: every live lead of a person who is not erased, with
    its person's score (a lead without a person carries the score of its own record). Two leads
    of one person show the same score, grade and reasons. -#}
{{ crm_record_scores('stg_salesforce__leads', 'lead_id', 'salesforce_lead', own_record_fallback=true) }}
