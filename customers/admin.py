"""Nothing of customers is in the admin (design.md: the administrator holds no business
permission by being one).

Customers are personal data: compliance and legal read them one by one in the portal, and an
erasure is a data subject request. Data assets are business data: every field but the name is
a rule's input (owner, classification, collection purposes, data categories, retention,
members) and restricted assets are hidden from everyone but their owner, compliance, legal
and grantees; compliance changes them in the portal with a reason
(``customers.asset_stewardship``, ``customers.services.assets.asset_classify``).
"""
