"""What the demo's people typed (reasons, justifications, reports), marked for translation.

``seed_demo --language nb`` writes them in Norwegian, as a Norwegian company's employees
would have typed them; by default they are English. They are the demo's data, not the
portal's words: once stored they are shown as typed, like anything a person writes.
"""

from django.utils.translation import gettext_lazy as _

HISTORY_REASON = _("Demo data loaded")

SHARED_DRIVE_TITLE = _("Customer list left on a shared drive")
SHARED_DRIVE = _(
    "A spreadsheet with retail customers' names and phone numbers is on the team share that "
    "everybody can open."
)
NEWSLETTER_TITLE = _("Newsletter list sent to an outside agency")
NEWSLETTER = _(
    "The full subscriber export was attached to an e-mail to the wrong agency address. The "
    "agency confirmed receipt."
)
NEWSLETTER_BREACH = _("Names and e-mail addresses reached a recipient with no right to them.")
PRINTOUT_TITLE = _("Printed key-account list found in the meeting room")
PRINTOUT = _("Found a printout of key-account contacts left after a meeting.")
PRINTOUT_NO_BREACH = _("The printout never left the locked floor; shredded the same day.")

JUSTIFICATIONS = {
    "alice": _("Monthly product newsletter to the subscribers who asked for it."),
    "carl": _("Follow-up with customers about their orders and the new service offer."),
}
APPROVAL = _("Fits the purpose the customers' data was collected for.")

ERASURE_IDENTITY = _(
    "Replied from the registered e-mail address with the customer number from the last invoice."
)
ERASURE_NOTE = _("asked to be forgotten after cancelling.")
ERASURE_DONE = _("Deleted from the newsletter platform.")
ACCESS_IDENTITY = _("Signed in to the customer account and sent the request from there.")
ACCESS_NOTE = _("wants to know which lists hold them.")
ACCESS_ANSWER = _("Sent the access report (JSON) to the registered e-mail address.")
