"""Benchmarks: the optimiser alone, dispatch on PostgreSQL at network scale, the SMS webhook.

``make bench`` runs them all (``python -m bench.run_all``); each also runs on its own and, with
``--write``, replaces its own section of ``docs/benchmarks.md``.
"""
