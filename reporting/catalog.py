"""The reports the app shows: one gold mart each, the query that reads it and the chart drawn
from it. Adding a report is adding an entry here (and its mart in dbt_project/models/marts/reports)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    question: str  # what the report answers, shown above it
    sql: str  # against gold only
    label: str  # chart: the column naming each bar
    value: str  # chart: the column giving its length
    value_format: str = "{:,.0f}"


REPORTS: tuple[Report, ...] = (
    Report(
        "funnel",
        "Funnel by source",
        "How many leads of each source become MQLs, SQLs, opportunities and wins, and how fast?",
        "select lead_source, sum(leads) as leads, sum(mqls) as mqls, sum(sqls) as sqls, "
        "sum(opportunities) as opportunities, sum(won) as won "
        "from gold.funnel_by_source_and_campaign group by lead_source order by leads desc",
        "lead_source",
        "leads",
    ),
    Report(
        "funnel_by_campaign",
        "Funnel by source and campaign",
        "Conversion rates and median days between stages per lead source and campaign.",
        "select lead_source || ' / ' || campaign_name as segment, * from gold.funnel_by_source_and_campaign "
        "order by leads desc, lead_source, campaign_name",
        "segment",
        "lead_to_mql_rate",
        "{:.1%}",
    ),
    Report(
        "mailer_ab_test",
        "Direct mail: mailer A/B test",
        "Which mailer version gets more callbacks, and is the difference more than chance?",
        "select * from gold.direct_mail_mailer_ab_test order by mailer_version",
        "mailer_version",
        "response_rate",
        "{:.2%}",
    ),
    Report(
        "partner_delivery",
        "Direct mail: delivery by partner",
        "Which partners deliver, how fast, and how much never arrives?",
        "select * from gold.direct_mail_partner_delivery order by partner",
        "partner",
        "delivered_share",
        "{:.1%}",
    ),
    Report(
        "callbacks_by_geography",
        "Direct mail: callbacks by state and mail-piece type",
        "Where, and with which mail class, do people call back?",
        "select * from gold.direct_mail_callbacks_by_geography order by pieces_mailed desc, state, mail_piece_type",
        "state",
        "pieces_mailed",
    ),
    Report(
        "cost_per_response",
        "Direct mail: cost per response",
        "What does a callback cost per partner and version (from the cost seed)?",
        "select * from gold.direct_mail_cost_per_response order by partner, mailer_version",
        "partner",
        "spend",
        "{:,.2f}",
    ),
    Report(
        "engagement",
        "Engagement by channel",
        "Which channels reach people, and how many of the people they reach are MQLs?",
        "select * from gold.engagement_by_channel order by people_engaged desc",
        "channel",
        "people_engaged",
    ),
    Report(
        "activation",
        "Product sign-up activation",
        "Do product sign-ups start using the product within the activation window?",
        "select * from gold.product_signup_activation order by signup_month",
        "signup_month",
        "signups",
    ),
    Report(
        "source_health",
        "Pipeline health: sources",
        "Is every source arriving, and how much of it is quarantined?",
        "select * from gold.pipeline_source_health order by source",
        "source",
        "loaded_rows",
    ),
    Report(
        "sync_health",
        "Pipeline health: syncs",
        "How often do the CRMs reject what the syncs send?",
        "select * from gold.pipeline_sync_health order by sync_name",
        "sync_name",
        "records_sent",
    ),
    Report(
        "identity_health",
        "Pipeline health: identity merges",
        "How many records of each source are merged into one person with others?",
        "select * from gold.pipeline_identity_health order by source",
        "source",
        "merge_rate",
        "{:.1%}",
    ),
)

BY_NAME = {report.name: report for report in REPORTS}
