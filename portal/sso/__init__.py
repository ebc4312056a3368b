"""Single sign-on with OpenID Connect (docs/single-sign-on.md).

- ``provider``: is SSO on, which local logins are allowed, the issuer's discovery document.
- ``accounts``: the account behind a sign-in (link or just-in-time creation), roles from
  directory groups, the provider's second factor.
- ``backends``: the authentication backends (the OpenID Connect one, the local-login gate).
- ``views``: the login page, the start of a sign-in at the provider, the provider's return.
"""
