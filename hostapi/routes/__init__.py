"""Thin routers of the REST API: validate, delegate, render."""
