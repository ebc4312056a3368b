"""Per-object loaders of consent: an object the user may not see is a 404, never a 403."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from consent.models import ConsentImportJob, SharingRequest, SharingWithdrawal
from consent.policies import may_read_record
from consent.selectors import import_job_list_for
from consent.sharing_selectors import sharing_request_list_for, sharing_requests_waiting_for


def get_sharing_request_for_user(user, pk) -> SharingRequest:
    """A sharing request its requester, the asset's owner, compliance, legal or a decider
    of one of its steps may see; 404 for anyone else."""
    sharing_request = sharing_request_list_for(user).filter(pk=pk).first()
    if sharing_request is None:
        sharing_request = sharing_requests_waiting_for(user).filter(pk=pk).first()
    if sharing_request is None:
        raise Http404("No such sharing request.")  # i18n: not shown (the 404 page)
    return sharing_request


def get_sharing_request_for_download(user, pk) -> SharingRequest:
    """The caller's own sharing request with a package. Anyone else's is a 404, even for
    compliance: the package goes to the person who asked, and to nobody else."""
    return get_object_or_404(
        SharingRequest.objects.filter(package__isnull=False), pk=pk, requester=user
    )


def get_withdrawal_for_user(user, sharing_request: SharingRequest, pk) -> SharingWithdrawal:
    """A withdrawal to forward on a sharing request the user can see (load that first)."""
    return get_object_or_404(
        SharingWithdrawal.objects.select_related("package__request"),
        pk=pk,
        package__request=sharing_request,
    )


def get_import_job_for_user(user, pk) -> ConsentImportJob:
    """A consent import job: compliance only; 404 for everyone else."""
    return get_object_or_404(import_job_list_for(user), pk=pk)


def check_record_reader(user) -> None:
    """The record of processing activities exists for compliance and legal only: ``Http404``
    for anyone else (``consent.policies.may_read_record``)."""
    if not may_read_record(user):
        raise Http404("No such page.")  # i18n: not shown (the 404 page)
