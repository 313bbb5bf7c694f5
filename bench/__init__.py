"""Benchmarks: ingest, search and digest, each reported as ratios measured in the same run.

Run ``python -m bench`` (see ``python -m bench --help``); sizes: small (CI), medium, large.
"""
