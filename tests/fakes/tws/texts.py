"""The texts TWS sends with its error codes (as seen in IB's message-code list and user logs).

Clients match on the code, never the text; the texts are here so logs read like a real TWS's.
"""

NO_DEFINITION = "No security definition has been found for the request"
CLIENT_ID_IN_USE = (
    "Unable to connect as the client id is already in use. Retry with a unique client id."
)
FRACTIONAL = "Fractional-sized order cannot be placed via API."
NOT_SUBSCRIBED = (
    "Requested market data is not subscribed. Check API status by selecting the Account menu "
    "then under Management choose Market Data Subscription Manager and/or check that the API "
    "is entitled for the market data you are requesting.Delayed market data is available."
)
DELAYED = "Requested market data is not subscribed. Displaying delayed market data."
SNAPSHOT_GENERIC = (
    "Error validating request:-'bW' : cause - "
    "Snapshot market data subscription is not applicable to generic ticks"
)
AUTO_BIND = (
    "Error validating request:-'bf' : cause - Auto bind of orders is only possible for client id 0"
)
READ_ONLY_COMPLETED = (
    "Error validating request:-'cB' : cause - The API interface is currently in Read-Only mode."
)
OUTSIDE_RTH_IGNORED = (
    "Order Event Warning:Attribute 'Outside Regular Trading Hours' is ignored based on the "
    "order type and destination. PlaceOrder is now being processed."
)
LOST = "Connectivity between IBKR and Trader Workstation has been lost."
RESTORED_LOST = "Connectivity between IBKR and Trader Workstation has been restored - data lost."
RESTORED_KEPT = (
    "Connectivity between IBKR and Trader Workstation has been restored - data maintained. "
    "All data farms are connected: usfarm; ushmds; secdefnj."
)


def not_cancellable(order_id: int, status: str) -> str:
    return f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {status}."


def not_found(order_id: int) -> str:
    return f"OrderId {order_id} that needs to be cancelled is not found."


def over_the_rate(limit: int, received: int) -> str:
    return f"Max rate of messages per second has been exceeded:max={limit} rec={received}"


def held_until_open(action: str, quantity: object, symbol: str) -> str:
    return (
        f"Order Message:\n{action} {quantity} {symbol} SMART\nWarning: your order will not be "
        "placed at the exchange until the next regular trading session opens."
    )
