"""A recorded split makes the ledger's lots agree with the broker again, through whole cycles.

After a 2-for-1 split the sim holds 480 VTI and the ledger 240: the symbol is planned without
its lots and `ledger_mismatch:VTI` fires (tests/integration/test_tax_ledger_mismatch.py).
Recording the split ends it: the next cycle's open lots hold 480, its `ledger_mismatch`
record is empty, the alert clears, and VTI's lots are trusted again (240 at $250 are 480 at
$125: no loss to harvest, no unknown basis).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from daemon.monitor.alerting import check_alerts
from daemon.monitor.notify import Message
from daemon.store.tax_ledger import TaxLedger, household_accounts, tax_policy
from daemon.store.tax_splits import record_split
from tests.integration.test_tax_ledger_mismatch import LATER, Account, account

__all__ = ["account"]  # the fixture, shared

D = Decimal
SPLIT_DAY = (LATER - timedelta(days=3)).date()


def _record_split(account: Account, new: int, old: int) -> None:
    app = account.app
    with app.database.transaction() as session:
        (done,) = record_split(
            session,
            accounts=household_accounts(app.settings),
            policy=tax_policy(app.settings),
            symbol="VTI",
            new=new,
            old=old,
            effective=SPLIT_DAY,
            today=account.clock[0].date(),
            account=None,
            at=account.clock[0],
        )
    assert (done.account, done.new) == ("main", True)


def _alerts(account: Account, sent: list[Message]) -> tuple[list[str], list[str]]:
    result = check_alerts(
        database=account.app.database,
        settings=account.app.settings,
        account="main",
        clock=lambda: account.clock[0],
        notify=sent.append,
    )
    return (
        [a.key for a in result.fired if a.key.startswith("ledger")],
        [a.key for a in result.cleared if a.key.startswith("ledger")],
    )


def test_recording_the_split_clears_the_mismatch_and_its_alert(account: Account) -> None:
    account.broker_holds("VTI", D(480))
    account.feed.prices["VTI"] = D("125.00")
    assert account.run().outcome == "succeeded"  # reconciliation halts the account
    account.resume()
    assert account.run().outcome == "succeeded"
    (mismatch,) = account.audit("ledger_mismatch")[-1]["mismatches"]
    assert (mismatch["ledger"], mismatch["broker"]) == ("240", "480")
    assert "trimtab tax split" in mismatch["fix"]
    sent: list[Message] = []
    assert _alerts(account, sent) == (["ledger_mismatch:VTI"], [])

    _record_split(account, 2, 1)
    with account.app.database.transaction() as session:
        (lot,) = [lot for lot in TaxLedger(session).lots("main") if lot.symbol == "VTI"]
        assert lot.qty == 240  # the fact as bought; the engine scales it
    account.clock[0] += timedelta(days=1)
    earlier = len(account.audit("tax_decision"))
    report = account.run()
    assert report.outcome == "succeeded", report.error
    assert [len(r["mismatches"]) for r in account.audit("ledger_mismatch")[-2:]] == [1, 0]
    assert _alerts(account, sent) == ([], ["ledger_mismatch:VTI"])
    # VTI's lots are trusted again: 480 at $125 a share, no loss to harvest, nothing unknown.
    decisions = [d for r in account.audit("tax_decision")[earlier:] for d in r["decisions"]]
    assert not [d for d in decisions if d["symbol"] == "VTI"], decisions
    assert not [o for o in report.outcomes if o.intent.symbol in ("VTI", "ITOT")]


def test_recording_a_reverse_split_clears_the_mismatch(account: Account) -> None:
    account.broker_holds("VTI", D(120))
    account.feed.prices["VTI"] = D("500.00")
    assert account.run().outcome == "succeeded"
    account.resume()
    assert account.run().outcome == "succeeded"
    assert account.audit("ledger_mismatch")[-1]["mismatches"]
    _record_split(account, 1, 2)
    account.clock[0] += timedelta(days=1)
    assert account.run().outcome == "succeeded"
    assert account.audit("ledger_mismatch")[-1]["mismatches"] == []
