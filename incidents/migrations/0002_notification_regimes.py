"""The notification regimes shipped with the portal: GDPR Art. 33, NIS2 Art. 23, DORA Art. 19.

Data, not code: compliance edits them in the admin. Re-running updates the shipped rows by
key and leaves regimes and duties added by compliance alone. Reminder hours are counted
back from the due time (GDPR: 48, 24 and 6 hours before the 72 h deadline = at 24, 48 and
66 hours after awareness).
"""

from django.db import migrations

GDPR = "Regulation (EU) 2016/679 (GDPR), Art. 33(1)"
NIS2 = "Directive (EU) 2022/2555 (NIS2), Art. 23(4)"
DORA = (
    "Regulation (EU) 2022/2554 (DORA), Art. 19(4); Commission Delegated Regulation "
    "(EU) 2025/301, Art. 5"
)

REGIMES = [
    {
        "key": "gdpr-art-33",
        "name": "GDPR Art. 33: personal-data breach",
        "source": GDPR + ": notify the supervisory authority without undue delay and, where "
        "feasible, not later than 72 hours after having become aware of the breach, unless it "
        "is unlikely to result in a risk to the rights and freedoms of natural persons; a "
        "later notification is accompanied by reasons for the delay.",
        "applies_to_breaches": True,
        "duties": [
            {
                "key": "authority-notification",
                "name": "Notification of the supervisory authority",
                "anchor": "awareness",
                "offset_hours": 72,
                "reminder_hours_before_due": [48, 24, 6],
                "source": GDPR,
            },
        ],
    },
    {
        "key": "nis2-art-23",
        "name": "NIS2 Art. 23: significant incident",
        "source": NIS2 + ": early warning within 24 hours of becoming aware of the significant "
        "incident; incident notification within 72 hours of becoming aware; final report not "
        "later than one month after the submission of the incident notification.",
        "applies_to_breaches": False,
        "duties": [
            {
                "key": "early-warning",
                "name": "Early warning to the CSIRT or competent authority",
                "anchor": "awareness",
                "offset_hours": 24,
                "reminder_hours_before_due": [12, 4],
                "source": NIS2 + "(a)",
            },
            {
                "key": "incident-notification",
                "name": "Incident notification",
                "anchor": "awareness",
                "offset_hours": 72,
                "reminder_hours_before_due": [48, 24, 6],
                "source": NIS2 + "(b)",
            },
            {
                "key": "final-report",
                "name": "Final report",
                "anchor": "duty",
                "anchor_duty": "incident-notification",
                "offset_months": 1,
                "reminder_hours_before_due": [168, 24],
                "source": NIS2 + "(d)",
            },
        ],
    },
    {
        "key": "dora-art-19",
        "name": "DORA Art. 19: major ICT-related incident",
        "source": DORA + ": initial notification within 4 hours of the classification of the "
        "incident as major, and at the latest 24 hours after becoming aware of it; intermediate "
        "report within 72 hours of the submission of the initial notification; final report "
        "no later than one month after the latest intermediate report. Apply the regime at the "
        "moment the incident is classified as major.",
        "applies_to_breaches": False,
        "duties": [
            {
                "key": "initial-notification",
                "name": "Initial notification",
                "anchor": "applied",
                "offset_hours": 4,
                "latest_hours_after_awareness": 24,
                "reminder_hours_before_due": [2, 1],
                "source": DORA + "(a)",
            },
            {
                "key": "intermediate-report",
                "name": "Intermediate report",
                "anchor": "duty",
                "anchor_duty": "initial-notification",
                "offset_hours": 72,
                "reminder_hours_before_due": [24, 6],
                "source": DORA + "(b)",
            },
            {
                "key": "final-report",
                "name": "Final report",
                "anchor": "duty",
                "anchor_duty": "intermediate-report",
                "offset_months": 1,
                "reminder_hours_before_due": [168, 24],
                "source": DORA + "(c)",
            },
        ],
    },
]


def load_regimes(apps, schema_editor):
    Regime = apps.get_model("incidents", "Regime")
    RegimeDuty = apps.get_model("incidents", "RegimeDuty")
    for spec in REGIMES:
        spec = dict(spec)
        duties = spec.pop("duties")
        regime, _ = Regime.objects.update_or_create(key=spec.pop("key"), defaults=spec)
        for position, duty in enumerate(duties):
            duty = dict(duty)
            anchor_key = duty.pop("anchor_duty", None)
            duty["anchor_duty"] = (
                RegimeDuty.objects.get(regime=regime, key=anchor_key) if anchor_key else None
            )
            RegimeDuty.objects.update_or_create(
                regime=regime, key=duty.pop("key"), defaults={**duty, "position": position}
            )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_incidents_regimes_duties_timeline")]

    operations = [migrations.RunPython(load_regimes, migrations.RunPython.noop)]
