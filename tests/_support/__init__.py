"""The test suite's own machinery, one job per module (``tests/conftest.py`` wires it into pytest).

- :mod:`_support.counters`: what the session counted (windows built and reused, muscle builds), added up
  over the pytest-xdist workers and printed at the end;
- :mod:`_support.window_pool`: the real main window shared by the tests of a module, put back to its fresh
  state after each test and verified by a fingerprint;
- :mod:`_support.muscle_builds`: the muscles built from their data once per session;
- :mod:`_support.groups`: which tests share a pytest-xdist worker;
- :mod:`_support.file_times`: CPU and wall seconds per test file (``--file-times``).
"""
