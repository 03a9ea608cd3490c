{#- Records a CRM rejects now (reverse_etl.sync_rejections), or none before the first sync. -#}
{{ source_or_empty('reverse_etl', 'sync_rejections', {
    'sync_name': dbt.type_string(),
    'record_key': dbt.type_string(),
}) }}
