"""Identity resolution: every source record that describes a person, resolved into people.

Silver's one Python step (the rest of silver is dbt): contact points are standardized with
libraries SQL does not have (`phonenumbers`), records are linked by shared keys and by a
Splink (Fellegi-Sunter) model, and the links' connected components become people with a
`person_id` that only changes when the cluster itself does.
"""
