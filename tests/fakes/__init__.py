"""Fakes of the outside world (brokers, plugins) for trimtab's tests."""
