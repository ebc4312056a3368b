"""A real OpenID Connect provider for the single sign-on tests (``harness``), run with Node
from ``provider.mjs`` on the npm package ``oidc-provider`` (``make oidc-provider``)."""
