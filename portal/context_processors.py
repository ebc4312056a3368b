from portal import roles as portal_roles


def roles(request):
    """Which role-specific navigation a page shows (the views still check every action)."""
    user = getattr(request, "user", None)
    return {
        "is_compliance": portal_roles.is_compliance(user),
        "is_legal": portal_roles.is_legal(user),
    }
