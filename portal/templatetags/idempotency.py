"""``{% idempotency_key_field %}``: the hidden key of a create form (portal.idempotency)."""

from django import template

from portal.idempotency import form_key_field

register = template.Library()


@register.simple_tag
def idempotency_key_field() -> str:
    return form_key_field()
