"""`trimtab run`: the long-running daemon; `trimtab run --once`: one cycle per account now."""

from __future__ import annotations

__all__ = ["run"]

from typing import TYPE_CHECKING, Annotated

import typer

from daemon.cli.common import ConfigOption, JsonOption, console, fail, load_app, print_json, styled
from daemon.cli.plan_cmd import AccountOption, WithdrawOption, _print_report, parse_amount
from daemon.cli.render import plan_json
from daemon.core.domain import OrderStatus
from daemon.core.money import usd
from daemon.service.lock import cycle_lock, database_lock, instance_lock

if TYPE_CHECKING:
    from collections.abc import Callable
    from decimal import Decimal
    from pathlib import Path

    from daemon.core.cycle_report import CycleReport
    from daemon.store.cluster import SessionLock
    from daemon.store.intents import StoredIntent


def run(
    config: ConfigOption = None,  # type: ignore[assignment]
    once: Annotated[bool, typer.Option("--once", help="Run one cycle now and exit.")] = False,
    account: AccountOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run again a slot that already completed today.")
    ] = False,
    withdraw: WithdrawOption = "0",
    as_json: JsonOption = False,
    workers: Annotated[
        bool,
        typer.Option(
            "--workers",
            help="Cluster mode (PostgreSQL only): enqueue each due slot as a job for "
            "`trimtab worker` processes instead of running it here; as [cluster] enabled.",
        ),
    ] = False,
) -> None:
    """Run each account's cycle on its schedule until stopped; with --once, one cycle now.

    Without --once trimtab keeps running: each account's cycle runs at its `schedule` on the
    exchange's trading days. SIGTERM or SIGINT stop it after a running cycle finishes;
    SIGHUP reloads the configuration (a wrong one is refused and the old one kept).
    With --workers (or `[cluster] enabled = true`) it schedules only: slots become jobs that
    `trimtab worker` runs, and of several `trimtab run` on one database one leads and the
    others stand by (docs/scaling.md).
    """
    if once and workers:
        fail("--workers is for the long-running scheduler; leave out --once", 2)
    if not once:
        given = [
            name
            for name, value in (
                ("--account", account),
                ("--force", force),
                ("--withdraw", withdraw != "0"),
                ("--json", as_json),
            )
            if value
        ]
        if given:
            fail(f"{', '.join(given)} only go with --once (one cycle now)", 2)
        from daemon.logs import set_verbosity, verbosity

        # The daemon's log is its output, on a terminal too: the configured level, not quiet.
        set_verbosity(max(verbosity(), 1))

        from daemon.config.settings import cluster_problem

        with load_app(config) as app:
            cluster = workers or app.settings.cluster.enabled
            problem = cluster_problem(app.settings) if cluster else None
            if problem is not None:
                fail(f"--workers: {problem.problem} (fix: {problem.fix})", 2)
            from daemon.service.loop import Daemon  # the scheduler is loaded only to run it

            if workers and not app.settings.cluster.enabled:
                enabled = app.settings.cluster.model_copy(update={"enabled": True})
                app.settings = app.settings.model_copy(update={"cluster": enabled})
            with (
                instance_lock(app.settings.state_dir),
                database_lock(app.database, cluster=cluster),
            ):
                code = Daemon(app, cluster=cluster).run()
        raise typer.Exit(code)
    _once(config, account, force=force, withdraw=withdraw, as_json=as_json)


def _once(
    config: Path | None, account: str | None, *, force: bool, withdraw: str, as_json: bool
) -> None:
    """One cycle per account now (`run --once`); exit 1 when one needs the operator."""
    from daemon.cycle.engine import SlotAlreadyRan
    from daemon.service.once import OnceNotices, halted_accounts
    from daemon.store.intents import IntentStore

    withdrawal = parse_amount(withdraw, "--withdraw")
    with (
        load_app(config) as app,
        instance_lock(app.settings.state_dir),
        database_lock(app.database, cluster=app.settings.cluster.enabled),
    ):
        names = [account] if account else list(app.settings.accounts)
        for name in names:
            app.settings.account(name)
        notices = OnceNotices(app)
        reports = []
        skipped = []
        busy = []
        for name in names:
            group = app.settings.lock_key(name)
            lock = cycle_lock(app.database, group)
            if lock is not None and not lock.try_acquire():
                # A worker (or another trimtab) is in a cycle of the account's group: a second
                # cycle now would plan from the same holdings and send the same orders again.
                busy.append(name)
                console.print(
                    styled(
                        (f"{name}: refused", "bold red"),
                        f": its group ({group}) is in a cycle on a worker; nothing was run; "
                        "try again when that cycle has finished (`trimtab cluster status`)",
                    )
                )
                continue
            try:
                engine = app.engine(should_stop=_lost(lock))
                reports.append(engine.run_once(name, force=force, withdrawal=withdrawal))
            except SlotAlreadyRan as exc:
                skipped.append(name)
                console.print(styled((f"{name}: skipped", "yellow"), f": {exc}"))
            finally:
                if lock is not None:
                    lock.release()
        # No daemon is there to tell the owner (a timer runs this): the same messages as
        # `trimtab run` sends, so a trip rule cannot halt an account in silence.
        notices.tell(reports)
        halted = halted_accounts(app, [r.account for r in reports])
        # A cycle that ends with an order whose fate the broker has not told is not a
        # success: its symbol stays blocked until a lookup or the operator settles it.
        with app.database.transaction() as session:
            store = IntentStore(session)
            unresolved = {r.account: store.unresolved(r.account) for r in reports}
            never_reached = {
                r.account: [
                    s for s in store.for_cycle(r.cycle_id) if s.status is OrderStatus.NEVER_REACHED
                ]
                for r in reports
            }
        if as_json:
            print_json(
                [
                    {
                        "account": r.account,
                        "cycle_id": r.cycle_id,
                        "outcome": r.outcome,
                        "submitted": r.submitted,
                        "why_not_submitted": r.why_not_submitted,
                        "error": r.error,
                        "plan": plan_json(r.plan) if r.plan else None,
                        "unresolved": [_pending_json(s) for s in unresolved[r.account]],
                        "never_reached": [
                            s.intent.client_order_id for s in never_reached[r.account]
                        ],
                        "orders": [
                            {
                                "client_order_id": o.intent.client_order_id,
                                "symbol": o.intent.symbol,
                                "side": o.intent.side,
                                "qty": o.intent.qty,
                                "notional": o.intent.notional,
                                "status": o.status,
                                "detail": o.detail,
                            }
                            for o in r.outcomes
                        ],
                    }
                    for r in reports
                ]
            )
        else:
            for report in reports:
                _print_report(report)
                _print_outcomes(report)
                _print_unsettled(
                    report.account, unresolved[report.account], never_reached[report.account]
                )
        warned = _warn_operator(halted, reports, skipped, withdrawal)
        if (
            any(r.outcome == "failed" for r in reports)
            or any(unresolved.values())
            or warned
            or busy
        ):
            raise typer.Exit(1)


def _lost(lock: SessionLock | None) -> Callable[[], bool]:
    """What the executor asks before each order: has the group's lock gone? Its session ended
    (cut off, or ended by the server), so a worker may have taken the group over and this
    cycle must send nothing more."""
    if lock is None:
        return lambda: False
    return lambda: not lock.still_held()


def _warn_operator(
    halted: dict[str, str], reports: list[CycleReport], skipped: list[str], withdrawal: Decimal
) -> bool:
    """Say what needs the operator after the cycles, the withdrawal first: an account
    halted, a `--withdraw` whose cash is not there. Return whether anything was said."""
    for name, reason in halted.items():
        console.print(
            styled(
                (f"{name}: HALTED", "bold red"),
                f": {reason}; nothing trades until `trimtab resume -a {name}`",
            )
        )
    short = _withdrawal_short(reports, withdrawal) if withdrawal > 0 else {}
    for name, cash in short.items():
        console.print(
            styled(
                ("--withdraw not raised", "bold red"),
                f" for {name}: {usd(cash)} in cash of the {usd(withdrawal)} asked"
                if cash is not None
                else f" for {name}: its cash could not be read after trading",
                "; do not move the money out before the account shows it (why: "
                f"`trimtab audit -a {name} -k plan -k tax_decision`)",
            )
        )
    if skipped and withdrawal > 0:
        # A script that moves money out after this must not go ahead: no cash was raised.
        console.print(
            styled(
                ("--withdraw not raised", "bold red"),
                f" for {', '.join(skipped)}: the slot already ran; add --force to run it again",
            )
        )
    return bool(halted or short or (skipped and withdrawal > 0))


def _withdrawal_short(reports: list[CycleReport], withdrawal: Decimal) -> dict[str, Decimal | None]:
    """Return the accounts whose cash after the cycle is below `withdrawal` (None: unread).

    A sale rejected, partly filled or filled below its quote, a kill switch, a closed market
    or a plan that raised less all end here: a script that moves the money out next must
    not go ahead (a failed cycle is an exit 1 of its own)."""
    return {
        r.account: r.cash_after
        for r in reports
        if r.outcome != "failed" and (r.cash_after is None or r.cash_after < withdrawal)
    }


def _pending_json(stored: StoredIntent) -> dict[str, object]:
    intent = stored.intent
    return {
        "client_order_id": intent.client_order_id,
        "symbol": intent.symbol,
        "side": intent.side,
        "qty": intent.qty,
        "status": stored.status,
        "message": stored.message,
    }


def _print_unsettled(
    account: str, unresolved: list[StoredIntent], never_reached: list[StoredIntent]
) -> None:
    for stored in never_reached:
        intent = stored.intent
        console.print(
            styled(
                (
                    f"{account}: {intent.client_order_id} {intent.side} {intent.symbol} never "
                    "reached the broker",
                    "yellow",
                ),
                f": not placed, not resent; the next cycle plans {intent.symbol} again",
            )
        )
    if not unresolved:
        return
    console.print(styled((f"{account}: {len(unresolved)} order(s) unresolved", "bold red"), ":"))
    for stored in unresolved:
        intent = stored.intent
        console.print(
            f"  {intent.client_order_id} {intent.side} {intent.qty} {intent.symbol}: "
            f"{stored.status} ({stored.message})"
        )
    console.print(
        f"  {', '.join(sorted({s.intent.symbol for s in unresolved}))} stay blocked until the "
        "next cycle's lookup resolves them; see `trimtab orders unresolved`, and "
        "`trimtab orders settle` once you have looked at the account"
    )


def _print_outcomes(report: CycleReport) -> None:
    if report.outcome == "failed":
        return
    if not report.submitted:
        console.print(
            styled((report.account, "bold"), f": nothing submitted ({report.why_not_submitted})")
        )
        return
    for outcome in report.outcomes:
        order = outcome.order
        filled = ""
        if order is not None and order.avg_fill_price is not None:
            filled = f" {order.filled_qty} @ {usd(order.avg_fill_price)}"
        intent = outcome.intent
        size = f"{intent.qty}" if intent.notional is None else f"{usd(intent.notional)} of"
        console.print(
            f"  {intent.client_order_id} {intent.side} "
            f"{size} {intent.symbol}: {outcome.status}{filled}"
            + (f" ({outcome.detail})" if outcome.detail else "")
        )
