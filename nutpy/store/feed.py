"""Fan-out of store events to any number of subscribers, none of whom can slow it.

Each subscription has its own bounded queue.  Publishing appends to every
queue and returns at once: it never waits for a reader.  A subscriber whose
queue is full loses everything queued and everything after, until it reads
again; it then gets one :class:`~nutpy.store.events.Resync` saying how much
it missed and must read the state afresh.  This is the trade every push
front end needs: a stuck HTTP stream must not hold up a driver, the NUT
clients or the other streams, and its memory must stay bounded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from types import TracebackType

import trio

from nutpy.store.events import Event, Resync

__all__ = ["DEFAULT_QUEUE", "Feed", "Subscription"]

DEFAULT_QUEUE = 1024


class Subscription:
    """One reader's view of the feed; use as a context manager to unsubscribe."""

    def __init__(self, feed: Feed, maxlen: int,
                 want: Callable[[Event], bool] | None) -> None:
        self._feed = feed
        self._maxlen = maxlen
        self._want = want
        self._queue: deque[Event] = deque()
        self._lot = trio.lowlevel.ParkingLot()
        self._lost = 0  # events dropped since the queue overflowed
        self.resyncs = 0  # how many times this subscriber fell behind

    def offer(self, event: Event) -> None:
        """Queue ``event`` if wanted; never blocks (the feed calls this)."""
        if self._want is not None and not self._want(event):
            return
        if self._lost or len(self._queue) >= self._maxlen:
            if not self._lost:
                self._lost = len(self._queue)
                self._queue.clear()
                self.resyncs += 1
            self._lost += 1
        else:
            self._queue.append(event)
        self._lot.unpark_all()

    def receive_nowait(self) -> Event | None:
        """The next event if one is queued (a Resync after a loss), else None."""
        if self._lost:
            lost, self._lost = self._lost, 0
            return Resync(lost)
        return self._queue.popleft() if self._queue else None

    async def receive(self) -> Event:
        """The next event, waiting for one."""
        while (event := self.receive_nowait()) is None:
            await self._lot.park()
        return event

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.receive()

    def close(self) -> None:
        self._feed.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class Feed:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self.published = 0  # events published since start (for tests and metrics)

    def subscribe(self, *, maxlen: int = DEFAULT_QUEUE,
                  want: Callable[[Event], bool] | None = None) -> Subscription:
        """A new subscription to what is published from now on.

        ``want`` filters on the publisher's side, so that events a subscriber
        ignores never fill its queue nor wake it.
        """
        subscription = Subscription(self, maxlen, want)
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def publish(self, event: Event) -> None:
        self.published += 1
        for subscription in self._subscriptions:
            subscription.offer(event)

    def __len__(self) -> int:
        return len(self._subscriptions)
