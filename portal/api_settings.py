"""Django REST framework's settings and the API schema's (drf-spectacular), imported by name
by ``portal/settings.py``.

Plain data that reads no environment variable: the API's authentication, parsing,
pagination, error handling and schema are the same in every deployment. Kept apart so the
settings module stays one readable page.
"""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # DRF's tokens, but a token of a user who must use two-factor works only once they
        # enrolled (portal/security.py).
        "portal.security.EnrolledTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a depth limit and no NUL characters (portal/input_limits.py).
    "DEFAULT_PARSER_CLASSES": ["portal.input_limits.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Compliance portal API",  # i18n: not shown (schema, for programmers)
    "DESCRIPTION": (
        "Customer data assets, access requests,"  # i18n: not shown (schema, for programmers)
        " consent and incidents."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Incidents and consent both have a field called "status" with different choices: each
    # set gets its own schema name, or the deploy check warns about the collision.
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Status",
        "ConsentStatusEnum": "consent.models.ConsentStatus",
        # An asset's class is also an access review's scope; a review item's decision is also
        # the outcome of the items nobody decided: one name each.
        "ClassificationEnum": "customers.models.catalogue.Classification",
        "ReviewDecisionEnum": "customers.models.access_reviews.ReviewDecision",
    },
    # Every API operation documents its JSON error answers (400/401/403/404) in the schema.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.document_error_responses",
    ],
}
