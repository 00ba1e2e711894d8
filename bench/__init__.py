"""nutpy against NUT's ``upsd``: the same workload on both, one table of ratios.

Run it with ``make bench`` (about 15 minutes) or ``make bench BENCH_QUICK=1``
(about 2 minutes); ``python -m bench --only 2,3`` runs some measurements only.
It prints the table and rewrites the generated section of
``docs/benchmarks.md`` with the date and the machine.

What runs
    Debian's NUT 2.8.0 (``/lib/nut/upsd`` plus ``dummy-ups`` or ``apcsmart``)
    and ``nutpy serve``, each from its own config directory: the same UPS
    section, the same ``upsd.users``, ``MAXCONN 20000``, ``LISTEN 127.0.0.1``
    on a free port.  Both serve ``tests/fixtures/smart-ups-1500.dev`` (a real
    APC Smart-UPS 1500 dump), or an identical simulator loaded from it.

The load generator
    ``bench/loadgen.c``, compiled at bench time: one epoll loop in C, closed
    loop (throughput) or paced (latency, one outstanding request per client).
    It is also run against a trivial C server with the same replies, and its
    own CPU is reported, to show it is not what limits a result.

Measurements (numbered as in issue #7)
    1. ``upsc ups@127.0.0.1:PORT`` wall time, median of many runs.
    2. ``LIST VAR`` round trip, p50/p99: 1 client every 10 ms; 100 clients
       each every 100 ms (1,000 requests/s in all).
    3. ``GET VAR`` requests per second, closed loop, 1/100/1,000 clients.
    4. 10,000 idle connections (each answered one ``VER`` first): resident
       memory per connection, and the p99 of a client polling meanwhile.
    5. Idle cost: CPU seconds per minute and RSS while polling one simulated
       Smart-UPS at ``pollinterval = 2`` (NUT: driver plus upsd; simulators
       are separate processes and not counted).
    6. Power cut: ``mains fail`` at the simulator until ``OB`` is seen in
       ``GET VAR ups ups.status`` (polled every millisecond), p50 and p99; then
       again with both simulators paced like a 2400-baud line, where the
       ``Q`` nutpy asks to confirm the ``!`` costs its line time (25 ms).
    7. 64 Smart-UPSes in one nutpy process, each on a simulator paced like a
       2400-baud line: every poll cycle against the time its bytes need on
       the wire (10 bits a byte), from the driver's poll-cycle debug log.

    8-11. The HTTP front end: scrape latency for 1 and 64 UPSes, power cut to
       the event stream, and the NUT clients' GET VAR p99 while Prometheus
       scrapes, 50 event streams are open, or the dashboard is open in a
       browser (see :mod:`bench.frontends`).

Every process the bench starts runs in its own process group and is stopped
with it; only 127.0.0.1 is used.
"""
