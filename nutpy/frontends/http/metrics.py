"""``/metrics`` and ``/ups_metrics``: the Prometheus exposition of every UPS, from the store.

Names, labels and conventions are those of DRuggeri's ``nut_exporter``, so its
scrape configs, alert rules and Grafana dashboard work unchanged:

* each numeric variable as ``network_ups_tools_<name with . and - as _>``,
  help ``<description> (<variable>)`` (``_value`` added where the name would
  end in a suffix Prometheus reserves, such as ``outlet_group_count``); the
  words nut_exporter reads as booleans by default (``enabled``/``on``/
  ``true``... and their opposites) as 1 and 0; other strings are not exported;
* ``network_ups_tools_ups_status{flag="OL"}`` 1 for each flag set, and 0 for
  nut_exporter's default list of flags when they are not;
* ``network_ups_tools_device_info`` 1 with the ``device.*`` values as labels.

nut_exporter scrapes one UPS per request (``?ups=``) and fails when a server
has several; here one scrape holds every UPS, each sample labelled
``ups="<name>"``.  With ``?ups=`` the output is one UPS's, without the
``ups`` label, exactly as nut_exporter's (whose scrape configs usually add
that label themselves from the query parameter).

``nutpy_*`` metrics say what no exporter can know: the data's age and
staleness, whether the driver is connected, line errors and recoveries,
clients logged in, connections per front end, when the status last
changed, how long a poll took.  Process metrics come from prometheus_client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from nutpy.config.descriptions import Descriptions
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request, Response
from nutpy.store import Availability, Link, Store, UpsState

__all__ = ["DEFAULT_FLAGS", "Metrics", "metric_name"]

NAMESPACE = "network_ups_tools"
# nut_exporter's --nut.statuses default: always exported, 0 when not set.
DEFAULT_FLAGS = ("OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "BYPASS", "CAL", "OFF",
                 "OVER", "TRIM", "BOOST", "FSD", "SD")
DEVICE_LABELS = ("model", "mfr", "serial", "type", "description", "contact", "location",
                 "part", "macaddr")
# nut_exporter's default --nut.on_regex / --nut.off_regex.
_ON = re.compile(r"(?i)^(enable|enabled|on|true|active|activated)$")
_OFF = re.compile(r"(?i)^(disable|disabled|off|false|inactive|deactivated)$")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NOT_IN_NAME = re.compile(r"[^a-zA-Z0-9_]")


# Suffixes Prometheus gives a meaning to: a gauge named so fails promtool's lint.
_RESERVED = ("_count", "_sum", "_bucket", "_total", "_created")


def metric_name(variable: str) -> str:
    """nut_exporter's name for a variable; one that would end in a suffix Prometheus
    reserves (``outlet.group.count``) gets ``_value`` added, to stay lint-clean."""
    name = f"{NAMESPACE}_{_NOT_IN_NAME.sub('_', variable)}"
    return f"{name}_value" if name.endswith(_RESERVED) else name


# The families collect() makes itself, which no variable's gauge may be named as.
_FIXED = frozenset({metric_name("ups.status"), f"{NAMESPACE}_device_info"})


def _number(value: str) -> float | None:
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    if _ON.match(text):
        return 1.0
    if _OFF.match(text):
        return 0.0
    return None


class _UpsCollector(Collector):
    """The UPS metrics, computed from the store at each scrape."""

    def __init__(self, store: Store, descriptions: Descriptions,
                 only: UpsState | None) -> None:
        self.store = store
        self.descriptions = descriptions
        self.only = only

    def _selected(self) -> list[UpsState]:
        return [self.only] if self.only is not None else list(self.store)

    def collect(self) -> Iterable[Metric]:
        upses = self._selected()
        labels = [] if self.only is not None else ["ups"]

        def key(ups: UpsState) -> list[str]:
            return [ups.name] if labels else []

        yield from self._variables(upses, labels)
        status = GaugeMetricFamily(metric_name("ups.status"), self._help("ups.status"),
                                   labels=[*labels, "flag"])
        device = GaugeMetricFamily(f"{NAMESPACE}_device_info", "UPS Device information",
                                   labels=[*labels, *DEVICE_LABELS])
        for ups in upses:
            if ups.availability() is not Availability.OK:
                continue  # upsd would not serve it: nut_exporter would see no variables
            flags = ups.flags()
            for flag in dict.fromkeys([*flags, *DEFAULT_FLAGS]):
                status.add_metric([*key(ups), flag], 1.0 if flag in flags else 0.0)
            device.add_metric([*key(ups), *(self._device(ups, label) for label in DEVICE_LABELS)],
                              1.0)
        yield status
        yield device
        yield from self._own(upses, labels)

    def _help(self, variable: str) -> str:
        description = self.descriptions.variable(variable) or "Description unavailable"
        return f"{description} ({variable})"

    @staticmethod
    def _device(ups: UpsState, label: str) -> str:
        var = ups.get(f"device.{label}")
        return var.value if var is not None else ""

    def _variables(self, upses: list[UpsState], labels: list[str]) -> Iterator[Metric]:
        """One gauge per numeric variable.  Names are made by replacing characters, so
        two variables can share one (``battery.charge`` and ``battery-charge``, or a
        dummy-ups file's ``device.info``): only the first is exported, as a family or a
        series named twice makes Prometheus refuse the whole scrape."""
        families: dict[str, GaugeMetricFamily] = {}
        for ups in upses:
            if ups.availability() is not Availability.OK:
                continue
            named: set[str] = set()
            for var in ups.variables.values():
                value = _number(var.value)
                if value is None:
                    continue
                name = metric_name(var.name)
                if name in _FIXED or name in named:
                    continue
                named.add(name)
                family = families.get(name)
                if family is None:
                    family = families[name] = GaugeMetricFamily(
                        name, self._help(var.name), labels=labels)
                family.add_metric([] if not labels else [ups.name], value)
        yield from families.values()

    def _own(self, upses: list[UpsState], labels: list[str]) -> Iterator[Metric]:
        def gauge(name: str, text: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"nutpy_ups_{name}", text, labels=labels)

        age = gauge("data_age_seconds", "Seconds since the driver last read the UPS")
        stale = gauge("stale", "1 when the UPS's data is not served as fresh (DATA-STALE or "
                      "DRIVER-NOT-CONNECTED)")
        connected = gauge("driver_connected", "1 when the driver runs and holds its port")
        logins = gauge("clients", "NUT clients logged in to the UPS (NUMLOGINS)")
        changed = gauge("status_change_timestamp_seconds",
                        "When the status flags last changed (Unix time)")
        poll = gauge("poll_duration_seconds", "How long the driver's last full poll took")
        errors = CounterMetricFamily("nutpy_ups_link_errors", "Failed attempts to read the "
                                     "UPS (a lost port, no answer, garbled replies)",
                                     labels=labels)
        recoveries = CounterMetricFamily("nutpy_ups_link_recoveries", "Times the UPS "
                                         "answered again after an outage", labels=labels)
        for ups in upses:
            values = [] if not labels else [ups.name]
            seconds = ups.age()
            if seconds is not None:
                age.add_metric(values, seconds)
            stale.add_metric(values, 0.0 if ups.availability() is Availability.OK else 1.0)
            connected.add_metric(values, 0.0 if ups.link is Link.DOWN else 1.0)
            logins.add_metric(values, float(len(ups.logins)))
            if ups.status_changed is not None:
                changed.add_metric(values, ups.status_changed)
            if ups.stats.poll_seconds is not None:
                poll.add_metric(values, ups.stats.poll_seconds)
            errors.add_metric(values, float(ups.stats.errors))
            recoveries.add_metric(values, float(ups.stats.recoveries))
        yield from (age, stale, connected, logins, changed, poll, errors, recoveries)
        clients = GaugeMetricFamily("nutpy_connections", "Open client connections, by front end",
                                    labels=["frontend"])
        for frontend, count in sorted(self.store.connections.items()):
            clients.add_metric([frontend], float(count))
        yield clients


class Metrics:
    """Answers a scrape; the registry is built per request, as the UPS set may change."""

    def __init__(self, store: Store, descriptions: Descriptions) -> None:
        self.store = store
        self.descriptions = descriptions
        self._process = ProcessCollector(registry=None)

    def registry(self, only: UpsState | None = None) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_UpsCollector(self.store, self.descriptions, only))
        registry.register(self._process)
        return registry

    async def scrape(self, request: Request) -> Response:
        name = request.param("ups")
        only = None
        if name is not None:
            only = self.store.get(name)
            if only is None:
                raise HttpError(404, "UNKNOWN-UPS", f"no UPS called {name!r}")
        encoder, content_type = choose_encoder(request.header("accept") or "")
        return Response(200, encoder(self.registry(only)), content_type)
