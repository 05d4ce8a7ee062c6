"""A hostile web server for the test suite: see `tests.hostile.server`."""
