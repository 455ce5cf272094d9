"""The engine's unit tests: a package, so that test_gate.py does not clash with the role's."""
