"""Ready-made server states for tests: two managed paper accounts and a few US listings."""

from __future__ import annotations

from tests.fakes.tws.model import Instrument, TwsState

VTI = Instrument(
    12345001, "VTI", "ARCA", long_name="VANGUARD TOTAL STOCK MKT ETF", stock_type="ETF"
)
BND = Instrument(
    12345002, "BND", "NASDAQ", long_name="VANGUARD TOTAL BOND MARKET", stock_type="ETF"
)
VXUS = Instrument(
    12345003, "VXUS", "NASDAQ", long_name="VANGUARD TOTAL INTL STOCK", stock_type="ETF"
)
AAPL = Instrument(265598, "AAPL", "NASDAQ", long_name="APPLE INC")
# One symbol, two US listings of different companies: qualifying "DUAL" alone is ambiguous.
DUAL_NYSE = Instrument(12345010, "DUAL", "NYSE", long_name="DUAL HOLDINGS CLASS A")
DUAL_NASDAQ = Instrument(12345011, "DUAL", "NASDAQ", long_name="DUAL TECHNOLOGIES")

FIRST, SECOND = "DU1234567", "DU7654321"


def two_accounts() -> TwsState:
    """DU1234567 (cash 10,000, 20 VTI, 50 BND) and DU7654321 (cash 5,000, 7 AAPL), quotes set."""
    state = TwsState()
    for instrument, last in (
        (VTI, "250.00"),
        (BND, "72.50"),
        (VXUS, "61.20"),
        (AAPL, "190.00"),
        (DUAL_NYSE, "10.00"),
        (DUAL_NASDAQ, "20.00"),
    ):
        state.add_instrument(instrument)
        state.set_price(instrument.con_id, last)
    state.add_account(FIRST, "10000.00")
    state.set_position(FIRST, VTI.con_id, 20, "240.00")
    state.set_position(FIRST, BND.con_id, 50, "74.00")
    state.add_account(SECOND, "5000.00")
    state.set_position(SECOND, AAPL.con_id, 7, "150.00")
    return state
