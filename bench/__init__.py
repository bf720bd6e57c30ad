"""`make bench`: the portal's pages, clicks and throughput against their floors (see bench/run.py).

Not part of the test suite (pytest collects only tests/): the figures depend on the machine, so they
are measured and recorded (README, "Benchmarks"), never asserted.
"""
