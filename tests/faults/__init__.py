"""Fault tests: injected failures, killed processes, concurrent writers."""
