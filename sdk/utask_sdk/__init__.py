"""The µTask plugin SDK."""
