"""Renders one dashboard section with its own context (``portal.dashboard.layout.Section``)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def render_section(context, section):
    """The section's template, with ``section`` and its ``context`` on top of the page's."""
    with context.push(section=section, **section.context):
        return context.template.engine.get_template(section.template).render(context)
