from tests.foundation.conftest import port, workdir  # noqa: F401  (shared fixtures)
