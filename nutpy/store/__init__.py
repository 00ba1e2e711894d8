"""Per-UPS state between drivers and front ends, with a feed of its changes.

Drivers write into a :class:`UpsState`; front ends read it, subscribe to
:attr:`Store.feed` for what changes, and send requests back to the driver
with :meth:`UpsState.submit` or :meth:`UpsState.execute`.
"""

from nutpy.store.events import (
    Availability,
    AvailabilityChanged,
    CapabilitiesChanged,
    ClientsChanged,
    CommandFinished,
    Event,
    FsdSet,
    Resync,
    StatusChanged,
    UpsAdded,
    UpsRemoved,
    VariableChanged,
)
from nutpy.store.feed import Feed, Subscription
from nutpy.store.requests import (
    InstCmd,
    Killpower,
    Origin,
    Request,
    Result,
    ResultCallback,
    SetVar,
)
from nutpy.store.state import (
    DEFAULT_MAXAGE,
    DriverStats,
    Link,
    Refusal,
    RequestRefused,
    Store,
    UpsState,
    Variable,
)

__all__ = [
    "DEFAULT_MAXAGE", "Availability", "AvailabilityChanged", "CapabilitiesChanged",
    "ClientsChanged", "CommandFinished", "DriverStats", "Event", "Feed", "FsdSet",
    "InstCmd", "Killpower", "Link", "Origin", "Refusal", "Request", "RequestRefused", "Result",
    "ResultCallback", "Resync", "SetVar", "StatusChanged", "Store", "Subscription",
    "UpsAdded", "UpsRemoved", "UpsState", "Variable", "VariableChanged",
]
