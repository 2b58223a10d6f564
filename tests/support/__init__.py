"""Test support: servers and helpers the test suites share."""
