"""µTask HTTP surface: REST API, authentication, OpenAPI, metrics, dashboard, and the `utask` command line."""
