"""HTTP plumbing of the API: bodies, rendering, errors, middlewares, paging."""
