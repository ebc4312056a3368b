"""Every action the audit trail records, in one list.

The values are stored in ``AuditEvent.action``, hashed into the chain, typed into the audit
log's filter and read by compliance's tools: a value never changes once events carry it
(rename the member, never the value). ``audit_record`` refuses an action that is not here,
so a new kind of event is added to this list first. Members are grouped by the part of the
portal that writes them; a value is ``<subject>.<what happened>``, so the audit log's prefix
filter (``grant`` or ``incident``) finds a whole group.
"""

from django.db import models


class AuditAction(models.TextChoices):
    # Sign-in, accounts, roles and per-object permissions (portal)
    AUTH_LOGIN = "auth.login", "Signed in"
    AUTH_LOGOUT = "auth.logout", "Signed out"
    AUTH_LOGIN_FAILED = "auth.login_failed", "Sign-in failed"
    AUTH_LOCKOUT = "auth.lockout", "Sign-in locked out"
    AUTH_OTP_ENROL = "auth.otp_enrol", "Second factor enrolled"
    AUTH_OTP_VERIFY = "auth.otp_verify", "Second factor verified"
    AUTH_OTP_FAILED = "auth.otp_failed", "Second factor failed"
    AUTH_PASSWORD_CHANGE = "auth.password_change", "Password changed"
    AUTH_TOKEN_ISSUE = "auth.token_issue", "API token issued"
    AUTH_SSO_LOGIN = "auth.sso_login", "Signed in with single sign-on"
    AUTH_SSO_REFUSED = "auth.sso_refused", "Single sign-on refused"
    ACCOUNT_SSO_PROVISION = "account.sso_provision", "Account created at first single sign-on"
    ACCOUNT_SSO_LINK = "account.sso_link", "Account linked to the identity provider"
    ROLE_GRANT = "role.grant", "Role granted by the directory"
    ROLE_REVOKE = "role.revoke", "Role taken away by the directory"
    GROUP_MEMBER_ADD = "group.member_add", "Added to a role group"
    GROUP_MEMBER_REMOVE = "group.member_remove", "Removed from a role group"
    PERMISSION_ASSIGN = "permission.assign", "Object permission assigned"
    PERMISSION_REMOVE = "permission.remove", "Object permission removed"
    ACCOUNT_PROVISION = "account.provision", "Account provisioned by the directory"
    ACCOUNT_UPDATE = "account.update", "Account changed by the directory"
    ACCOUNT_DEACTIVATE = "account.deactivate", "Account deactivated: everything it held ended"
    ACCOUNT_REACTIVATE = "account.reactivate", "Account reactivated (nothing restored)"
    ACCOUNT_MOVE = "account.move", "Department or manager changed: grants to re-confirm"
    GROUP_CREATE = "group.create", "Group created by the directory"
    GROUP_DELETE = "group.delete", "Group deleted by the directory"
    SCIM_TOKEN_CREATE = "scim_token.create", "SCIM token created"
    SCIM_TOKEN_REVOKE = "scim_token.revoke", "SCIM token revoked"
    ADMIN_ADD = "admin.add", "Added in the Django admin"
    ADMIN_CHANGE = "admin.change", "Changed in the Django admin"
    ADMIN_DELETE = "admin.delete", "Deleted in the Django admin"

    # The audit trail itself and notifications (portal)
    AUDIT_ANCHOR = "audit.anchor", "Audit chain verified and anchored"
    AUDIT_VERIFY_FAILED = "audit.verify_failed", "Audit chain verification failed"
    AUDIT_EXPORT = "audit.export", "Audit log exported"
    NOTIFICATION_RETRY = "notification.retry", "Notification retried"

    # Approval chains of access and sharing requests (portal approvals engine)
    APPROVAL_APPROVE = "approval.approve", "Step approved"
    APPROVAL_DENY = "approval.deny", "Step denied"
    APPROVAL_WITHDRAW = "approval.withdraw", "Request withdrawn"
    APPROVAL_REASSIGN = "approval.reassign", "Step reassigned"

    # Data assets (customers)
    ASSET_CLASSIFICATION_CHANGE = "asset.classification_change", "Classification changed"
    ASSET_OWNER_CHANGE = "asset.owner_change", "Owner changed"
    ASSET_COLLECTION_PURPOSES_CHANGE = (
        "asset.collection_purposes_change",
        "Collection purposes changed",
    )
    ASSET_RETENTION_CHANGE = "asset.retention_change", "Retention date changed"
    ASSET_RETENTION_DELETE = "asset.retention_delete", "Customers deleted at retention date"

    # Access requests, grants, record views and exports (customers)
    ACCESS_REQUEST_CREATE = "access_request.create", "Access requested"
    ACCESS_REQUEST_REFUSED = "access_request.refused", "Access request refused: nobody eligible"
    GRANT_CREATE = "grant.create", "Grant created"
    GRANT_REVOKE = "grant.revoke", "Grant revoked"
    GRANT_EXPIRE = "grant.expire", "Grant expired"
    RECORDS_VIEW = "records.view", "Records viewed"
    EXPORT_DOWNLOAD = "export.download", "Export downloaded"

    # Access reviews (certification campaigns)
    ACCESS_REVIEW_START = "access_review.start", "Access review started"
    ACCESS_REVIEW_DECIDE = "access_review.decide", "Access review item decided"
    ACCESS_REVIEW_AUTO_REVOKE = (
        "access_review.auto_revoke",
        "Grant revoked by an access review's close",
    )
    ACCESS_REVIEW_CLOSE = "access_review.close", "Access review closed"

    # Data subject requests and erasure (customers)
    SUBJECT_REQUEST_CREATE = "subject_request.create", "Subject request received"
    SUBJECT_REQUEST_CLOSE = "subject_request.close", "Subject request closed"
    SUBJECT_REQUEST_EXTEND = "subject_request.extend", "Subject request deadline extended"
    SUBJECT_REQUEST_ERASE = "subject_request.erase", "Customer erased"
    SUBJECT_REQUEST_REPORT = "subject_request.report", "Access report produced"
    SUBJECT_REQUEST_DUE_IN_7 = "subject_request.due_in_7", "Subject request due in 7 days"
    SUBJECT_REQUEST_DUE_IN_2 = "subject_request.due_in_2", "Subject request due in 2 days"
    SUBJECT_REQUEST_OVERDUE = "subject_request.overdue", "Subject request overdue"
    ERASURE_TASK_CREATE = "erasure_task.create", "Erasure task created"
    ERASURE_TASK_CONFIRM = "erasure_task.confirm", "Erasure task confirmed"

    # Purposes, consent records and imports (consent)
    PURPOSE_LAWFUL_BASIS_CHANGE = "purpose.lawful_basis_change", "Lawful basis changed"
    CONSENT_RECORD = "consent.record", "Consent recorded"
    CONSENT_IMPORT = "consent.import", "Consent records imported"
    CONSENT_IMPORT_JOB_CREATE = "consent_import_job.create", "Consent import started"
    CONSENT_IMPORT_JOB_FINISH = "consent_import_job.finish", "Consent import finished"
    CONSENT_IMPORT_JOB_ERRORS_DOWNLOAD = (
        "consent_import_job.errors_download",
        "Consent import errors downloaded",
    )

    # External sharing (consent)
    SHARING_REQUEST_CREATE = "sharing_request.create", "Sharing requested"
    SHARING_REQUEST_REFUSED = "sharing_request.refused", "Sharing request refused: nobody eligible"
    SHARING_REQUEST_DELETION_CONFIRMED = (
        "sharing_request.deletion_confirmed",
        "Recipient's deletion confirmed",
    )
    SHARING_PACKAGE_CREATE = "sharing_package.create", "Sharing package created"
    SHARING_PACKAGE_DELETE = "sharing_package.delete", "Sharing package deleted"
    SHARING_WITHDRAWAL_TO_FORWARD = (
        "sharing.withdrawal_to_forward",
        "Withdrawal to forward to a recipient",
    )
    SHARING_WITHDRAWAL_FORWARDED = (
        "sharing.withdrawal_forwarded",
        "Withdrawal forwarded to a recipient",
    )

    # The record of processing activities, GDPR Art. 30 (consent)
    RECORD_ACTIVITY_SAVE = "record.activity_save", "Processing activity saved"
    RECORD_EXPORT = "record.export", "Record of processing activities exported"

    # Incidents
    INCIDENT_REPORT = "incident.report", "Incident reported"
    INCIDENT_ACKNOWLEDGE = "incident.acknowledge", "Incident acknowledged"
    INCIDENT_TRIAGE = "incident.triage", "Incident triaged"
    INCIDENT_NOTE = "incident.note", "Note added to an incident"
    INCIDENT_REGIME_APPLY = "incident.regime_apply", "Notification regime applied"
    INCIDENT_DUTY_RECORD = "incident.duty_record", "Notification duty recorded"
    INCIDENT_AWARENESS = "incident.awareness", "Awareness time recorded"
    INCIDENT_NO_RISK_PROPOSE = "incident.no_risk_propose", "No-risk assessment proposed"
    INCIDENT_NO_RISK_CONFIRM = "incident.no_risk_confirm", "No-risk assessment confirmed"
    INCIDENT_CUSTOMER_NOTICE = "incident.customer_notice", "Customers notified"
    INCIDENT_ESCALATE = "incident.escalate", "Incident escalated"
    INCIDENT_REMINDER = "incident.reminder", "Deadline reminder sent"
    INCIDENT_OVERDUE = "incident.overdue", "Deadline overdue"

    # Misuse signals' alerts (incidents)
    ALERT_DISMISS = "alert.dismiss", "Misuse alert dismissed"
    ALERT_INCIDENT = "alert.incident", "Incident opened from a misuse alert"
