"""The home page after login: on one page, what needs each person, by role.

With ``portal.urls`` this is the only core package that looks down into the apps
(design.md): it reads through their selectors and writes nothing. ``layout`` holds the
viewer and the section shapes, one module per audience builds sections, and ``page``
assembles them in order (``dashboard_for``)."""
