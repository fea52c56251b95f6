"""One account's cycle: gather (reconcile, snapshot, ledger), decide, execute, record."""
