"""Reminders to an asset's owner while its retention period is past."""

from django.db import models

from customers.models.catalogue import DataAsset


class RetentionReminder(models.Model):
    """A weekly reminder to an asset's owner that its retention date has passed."""

    asset = models.ForeignKey(DataAsset, on_delete=models.CASCADE, related_name="+")
    retention_date = models.DateField()
    sent_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "retention_date", "sent_on"], name="retention_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"retention reminder for asset {self.asset_id} on {self.sent_on}"
