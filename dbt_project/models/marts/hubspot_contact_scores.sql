{#- What the HubSpot contact sync reads: each live (not archived) HubSpot contact with its
    person's score, keyed by the HubSpot record id the batch update addresses. -#}
{{ crm_record_scores('stg_hubspot__contacts', 'contact_id', 'hubspot_contact') }}
