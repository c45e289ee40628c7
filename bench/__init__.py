"""Benchmarks of bkg-db against the systems a user would otherwise reach for.

``python -m bench run [SCENARIO ...] [--quick] [--json]`` runs scenarios and writes
``bench/results/<scenario>.json``; ``python -m bench report`` renders
``bench/results/README.md`` and one PNG chart per scenario.

Adding a scenario: create a module in ``bench/scenarios/`` (names starting with ``_`` are
helpers, not scenarios) that defines ``SCENARIO = Scenario(name=..., peers=..., run=...,
description=...)``. ``run(quick)`` measures ours and every peer in the same process run and
returns an :class:`~bench.model.Outcome`: ``figures`` (absolute measurements, each with a unit
and an optional goal) and ``ratios`` keyed ``vs_<peer>@<concurrency>`` (ours divided by the
peer's, each with an optional goal). Operation counts go through :func:`bench.sizing.scaled`,
so ``--quick`` and the test suite's smoke run (``BKG_BENCH_SMOKE=1``) shrink every scenario
alike. A scenario that needs an external system or program lists it in ``needs`` (e.g.
``"postgres"``, ``"wrk"``; see :data:`bench.registry.PROGRAMS`).

Peers live in ``bench/peers/``; each is a :class:`~bench.load.Peer`: a context manager whose
``session()`` gives one thread its own connection and a function doing one durable write
(:class:`~bench.load.Managed` supplies the context-manager plumbing). :func:`bench.load.measure`
drives any peer with N threads; :mod:`bench.compare` runs ours and its peers over
concurrency points and turns the throughputs into figures and ratios.

Exceptions::

    BenchError                      base of everything raised here
    +-- UnknownScenarioError        a name given on the command line is not registered
    +-- PeerUnavailableError        a peer cannot run on this host (e.g. no PostgreSQL binaries)
    +-- PeerFailedError             a peer or ours failed while being measured
"""
