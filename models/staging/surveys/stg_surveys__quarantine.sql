{{ opsmetrics.quarantine_union([('survey_responses', 'base_surveys__survey_responses')]) }}
