"""The backtest: an account's config run over years of daily closes through the live decision
step (`daemon.core.decide`), with the simulated broker's fills and an in-memory tax ledger.

`prices` reads the price file, `flows` the scheduled cash flows and dividends, `engine` runs
the days, `metrics` sums them up, `output` shapes the JSON, `report` writes the HTML page and
`vary` runs comparisons. Nothing here reads or writes trimtab's database. docs/backtest.md
documents the semantics.
"""
