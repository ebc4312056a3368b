"""Running the portal in production: health probes (``health``), Prometheus metrics
(``metrics``), structured logs (``logs``) and their URLs (``views``)."""
