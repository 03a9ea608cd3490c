{#- What the Salesforce Contact sync reads: each live Contact with its person's score. A converted
    lead's score lives here, on the Contact the conversion made (the org refuses updates to the
    converted lead itself). -#}
{{ crm_record_scores('stg_salesforce__contacts', 'contact_id', 'salesforce_contact') }}
