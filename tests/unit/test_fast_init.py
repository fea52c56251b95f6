"""`fast_init` gives a frozen slotted dataclass a faster `__init__` and nothing else: the same
signature, the same values in the same fields, still frozen, and the dataclass's equality,
hashing, `replace` and pickling. It refuses a class it cannot build that way."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from daemon.backtest.engine import Fill
from daemon.core.domain import AccountType, Position, Quote, Side
from daemon.core.planner.types import DriftRow, PlannedOrder
from daemon.core.records import fast_init
from daemon.core.risk import CheckDecision
from daemon.core.tax.types import Lot, LotPick, RelievedPiece, Term, Trade

D = Decimal
NOW = datetime(2026, 12, 7, 21, tzinfo=UTC)
DAY = date(2026, 12, 7)


@dataclass(frozen=True, slots=True)
class _Reference:
    """The dataclass's own `__init__`, for comparison."""

    symbol: str
    qty: Decimal
    note: str = "none"


@fast_init
@dataclass(frozen=True, slots=True)
class _Fast:
    symbol: str
    qty: Decimal
    note: str = "none"


def test_the_fast_init_takes_what_the_dataclass_init_takes() -> None:
    assert str(inspect.signature(_Fast)) == str(inspect.signature(_Reference))
    for args, kwargs in [(("A", D(1)), {}), (("A",), {"qty": D(2), "note": "x"})]:
        made = _Fast(*args, **kwargs)  # type: ignore[arg-type]
        expected = _Reference(*args, **kwargs)  # type: ignore[arg-type]
        assert dataclasses.astuple(made) == dataclasses.astuple(expected)
    with pytest.raises(TypeError, match="qty"):
        _Fast("A")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword"):
        _Fast("A", D(1), size=2)  # type: ignore[call-arg]


def test_a_fast_init_class_stays_a_frozen_dataclass() -> None:
    made = _Fast("A", D(1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.qty = D(2)  # type: ignore[misc]
    assert made == _Fast("A", D(1)) != _Fast("A", D(2))
    assert hash(made) == hash(_Fast("A", D(1)))
    assert dataclasses.replace(made, note="y") == _Fast("A", D(1), "y")
    assert pickle.loads(pickle.dumps(made)) == made
    assert repr(made) == "_Fast(symbol='A', qty=Decimal('1'), note='none')"


@pytest.mark.parametrize(
    "made",
    [
        PlannedOrder("VTI", Side.BUY, D(2), D(100), D(200), "why"),
        PlannedOrder("VTI", Side.SELL, D(2), D(100), D(200), "why", raises=D(1)),
        DriftRow(
            "VTI", D(1), D(2), D(2), D("0.5"), D("0.5"), D(0), D(1), False, True, D(1), D(0), ""
        ),
        CheckDecision("VTI", Side.BUY, D(1), D(2), True, "all", "passed", ("price",)),
        Quote("VTI", D(100), NOW, "test", previous_close=D(99)),
        Position("VTI", D(3)),
        Fill(date(2026, 12, 7), "VTI", Side.BUY, D(1), D(2), D(0)),
        Trade("t1", date(2026, 12, 7), "ira", AccountType.TAXABLE, "VTI", Side.BUY, D(1), D(2)),
        Lot("t1", "ira", AccountType.TAXABLE, "VTI", "", D(1), D(2), D(2), DAY, DAY, "t1"),
        RelievedPiece("t1", D(1), D(2), D(2), DAY, DAY, D(3), Term.SHORT),
        LotPick("t1"),
    ],
)
def test_the_hot_domain_types_build_their_fields_as_given(made: object) -> None:
    fields = dataclasses.fields(made)  # type: ignore[arg-type]
    values = [getattr(made, f.name) for f in fields]
    again = type(made)(*values)
    assert again == made
    assert [getattr(again, f.name) for f in fields] == values
    assert type(made).__init__.__qualname__ == f"{type(made).__qualname__}.__init__"


def test_a_class_it_cannot_build_is_refused() -> None:
    @dataclass(slots=True)
    class Mutable:
        x: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        x: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True)
    class NoSlots:
        x: int

    for cls in (Mutable, Factory, Checked, NoSlots):
        with pytest.raises(TypeError):
            fast_init(cls)
