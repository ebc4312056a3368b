"""The consent app's choices: lawful bases (GDPR Art. 6(1)), consent states and where a
consent came from. Kept apart from consent/models.py so that module stays one screen of
models; models.py imports them, so ``consent.models.LawfulBasis`` still works."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LawfulBasis(models.TextChoices):
    CONTRACT = "contract", _("Contract")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")
    CONSENT = "consent", _("Consent")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsentSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    CONTRACT = "contract", _("Contract")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    IMPORT = "import", _("Import")
