"""Every action the audit trail records, in one list.

The values are stored in ``AuditEvent.action``, hashed into the chain, typed into the audit
log's filter and read by compliance's tools: a value never changes once events carry it
(rename the member, never the value). ``audit_record`` refuses an action that is not here,
so a new kind of event is added to this list first. Members are grouped by the part of the
portal that writes them; a value is ``<subject>.<what happened>``, so the audit log's prefix
filter (``grant`` or ``incident``) finds a whole group.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    # Sign-in, accounts, roles and per-object permissions (portal)
    AUTH_LOGIN = "auth.login", _("Signed in")
    AUTH_LOGOUT = "auth.logout", _("Signed out")
    AUTH_LOGIN_FAILED = "auth.login_failed", _("Sign-in failed")
    AUTH_LOCKOUT = "auth.lockout", _("Sign-in locked out")
    AUTH_OTP_ENROL = "auth.otp_enrol", _("Second factor enrolled")
    AUTH_OTP_VERIFY = "auth.otp_verify", _("Second factor verified")
    AUTH_OTP_FAILED = "auth.otp_failed", _("Second factor failed")
    AUTH_PASSWORD_CHANGE = "auth.password_change", _("Password changed")
    AUTH_TOKEN_ISSUE = "auth.token_issue", _("API token issued")
    AUTH_SSO_LOGIN = "auth.sso_login", _("Signed in with single sign-on")
    AUTH_SSO_REFUSED = "auth.sso_refused", _("Single sign-on refused")
    ACCOUNT_SSO_PROVISION = "account.sso_provision", _("Account created at first single sign-on")
    ACCOUNT_SSO_LINK = "account.sso_link", _("Account linked to the identity provider")
    ROLE_GRANT = "role.grant", _("Role granted by the directory")
    ROLE_REVOKE = "role.revoke", _("Role taken away by the directory")
    GROUP_MEMBER_ADD = "group.member_add", _("Added to a role group")
    GROUP_MEMBER_REMOVE = "group.member_remove", _("Removed from a role group")
    PERMISSION_ASSIGN = "permission.assign", _("Object permission assigned")
    PERMISSION_REMOVE = "permission.remove", _("Object permission removed")
    ACCOUNT_PROVISION = "account.provision", _("Account provisioned by the directory")
    ACCOUNT_UPDATE = "account.update", _("Account changed by the directory")
    ACCOUNT_DEACTIVATE = "account.deactivate", _("Account deactivated: everything it held ended")
    ACCOUNT_REACTIVATE = "account.reactivate", _("Account reactivated (nothing restored)")
    ACCOUNT_MOVE = "account.move", _("Department or manager changed: grants to re-confirm")
    GROUP_CREATE = "group.create", _("Group created by the directory")
    GROUP_DELETE = "group.delete", _("Group deleted by the directory")
    SCIM_TOKEN_CREATE = "scim_token.create", _("SCIM token created")
    SCIM_TOKEN_REVOKE = "scim_token.revoke", _("SCIM token revoked")
    ADMIN_ADD = "admin.add", _("Added in the Django admin")
    ADMIN_CHANGE = "admin.change", _("Changed in the Django admin")
    ADMIN_DELETE = "admin.delete", _("Deleted in the Django admin")

    # The audit trail itself and notifications (portal)
    AUDIT_ANCHOR = "audit.anchor", _("Audit chain verified and anchored")
    AUDIT_VERIFY_FAILED = "audit.verify_failed", _("Audit chain verification failed")
    AUDIT_EXPORT = "audit.export", _("Audit log exported")
    NOTIFICATION_RETRY = "notification.retry", _("Notification retried")

    # Approval chains of access and sharing requests (portal approvals engine)
    APPROVAL_APPROVE = "approval.approve", _("Step approved")
    APPROVAL_DENY = "approval.deny", _("Step denied")
    APPROVAL_WITHDRAW = "approval.withdraw", _("Request withdrawn")
    APPROVAL_REASSIGN = "approval.reassign", _("Step reassigned")

    # Data assets (customers)
    ASSET_CLASSIFICATION_CHANGE = "asset.classification_change", _("Classification changed")
    ASSET_OWNER_CHANGE = "asset.owner_change", _("Owner changed")
    ASSET_COLLECTION_PURPOSES_CHANGE = (
        "asset.collection_purposes_change",
        _("Collection purposes changed"),
    )
    ASSET_RETENTION_CHANGE = "asset.retention_change", _("Retention date changed")
    ASSET_RETENTION_DELETE = "asset.retention_delete", _("Customers deleted at retention date")

    # Access requests, grants, record views and exports (customers)
    ACCESS_REQUEST_CREATE = "access_request.create", _("Access requested")
    ACCESS_REQUEST_REFUSED = "access_request.refused", _("Access request refused: nobody eligible")
    GRANT_CREATE = "grant.create", _("Grant created")
    GRANT_REVOKE = "grant.revoke", _("Grant revoked")
    GRANT_EXPIRE = "grant.expire", _("Grant expired")
    RECORDS_VIEW = "records.view", _("Records viewed")
    EXPORT_DOWNLOAD = "export.download", _("Export downloaded")

    # Access reviews (certification campaigns)
    ACCESS_REVIEW_START = "access_review.start", _("Access review started")
    ACCESS_REVIEW_DECIDE = "access_review.decide", _("Access review item decided")
    ACCESS_REVIEW_AUTO_REVOKE = (
        "access_review.auto_revoke",
        _("Grant revoked by an access review's close"),
    )
    ACCESS_REVIEW_CLOSE = "access_review.close", _("Access review closed")

    # Data subject requests and erasure (customers)
    SUBJECT_REQUEST_CREATE = "subject_request.create", _("Subject request received")
    SUBJECT_REQUEST_CLOSE = "subject_request.close", _("Subject request closed")
    SUBJECT_REQUEST_EXTEND = "subject_request.extend", _("Subject request deadline extended")
    SUBJECT_REQUEST_ERASE = "subject_request.erase", _("Customer erased")
    SUBJECT_REQUEST_REPORT = "subject_request.report", _("Access report produced")
    SUBJECT_REQUEST_DUE_IN_7 = "subject_request.due_in_7", _("Subject request due in 7 days")
    SUBJECT_REQUEST_DUE_IN_2 = "subject_request.due_in_2", _("Subject request due in 2 days")
    SUBJECT_REQUEST_OVERDUE = "subject_request.overdue", _("Subject request overdue")
    ERASURE_TASK_CREATE = "erasure_task.create", _("Erasure task created")
    ERASURE_TASK_CONFIRM = "erasure_task.confirm", _("Erasure task confirmed")

    # Purposes, consent records and imports (consent)
    PURPOSE_LAWFUL_BASIS_CHANGE = "purpose.lawful_basis_change", _("Lawful basis changed")
    CONSENT_RECORD = "consent.record", _("Consent recorded")
    CONSENT_IMPORT = "consent.import", _("Consent records imported")
    CONSENT_IMPORT_JOB_CREATE = "consent_import_job.create", _("Consent import started")
    CONSENT_IMPORT_JOB_FINISH = "consent_import_job.finish", _("Consent import finished")
    CONSENT_IMPORT_JOB_ERRORS_DOWNLOAD = (
        "consent_import_job.errors_download",
        _("Consent import errors downloaded"),
    )

    # External sharing (consent)
    SHARING_REQUEST_CREATE = "sharing_request.create", _("Sharing requested")
    SHARING_REQUEST_REFUSED = (
        "sharing_request.refused",
        _("Sharing request refused: nobody eligible"),
    )
    SHARING_REQUEST_DELETION_CONFIRMED = (
        "sharing_request.deletion_confirmed",
        _("Recipient's deletion confirmed"),
    )
    SHARING_PACKAGE_CREATE = "sharing_package.create", _("Sharing package created")
    SHARING_PACKAGE_DELETE = "sharing_package.delete", _("Sharing package deleted")
    SHARING_WITHDRAWAL_TO_FORWARD = (
        "sharing.withdrawal_to_forward",
        _("Withdrawal to forward to a recipient"),
    )
    SHARING_WITHDRAWAL_FORWARDED = (
        "sharing.withdrawal_forwarded",
        _("Withdrawal forwarded to a recipient"),
    )

    # The record of processing activities, GDPR Art. 30 (consent)
    RECORD_ACTIVITY_SAVE = "record.activity_save", _("Processing activity saved")
    RECORD_EXPORT = "record.export", _("Record of processing activities exported")

    # Incidents
    INCIDENT_REPORT = "incident.report", _("Incident reported")
    INCIDENT_ACKNOWLEDGE = "incident.acknowledge", _("Incident acknowledged")
    INCIDENT_TRIAGE = "incident.triage", _("Incident triaged")
    INCIDENT_NOTE = "incident.note", _("Note added to an incident")
    INCIDENT_REGIME_APPLY = "incident.regime_apply", _("Notification regime applied")
    INCIDENT_DUTY_RECORD = "incident.duty_record", _("Notification duty recorded")
    INCIDENT_AWARENESS = "incident.awareness", _("Awareness time recorded")
    INCIDENT_NO_RISK_PROPOSE = "incident.no_risk_propose", _("No-risk assessment proposed")
    INCIDENT_NO_RISK_CONFIRM = "incident.no_risk_confirm", _("No-risk assessment confirmed")
    INCIDENT_CUSTOMER_NOTICE = "incident.customer_notice", _("Customers notified")
    INCIDENT_ESCALATE = "incident.escalate", _("Incident escalated")
    INCIDENT_REMINDER = "incident.reminder", _("Deadline reminder sent")
    INCIDENT_OVERDUE = "incident.overdue", _("Deadline overdue")

    # Misuse signals' alerts (incidents)
    ALERT_DISMISS = "alert.dismiss", _("Misuse alert dismissed")
    ALERT_INCIDENT = "alert.incident", _("Incident opened from a misuse alert")
