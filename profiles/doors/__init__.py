"""The trust boundary's doors: one module per danger, and every path that crosses it goes
through its door (``tests/test_doors.py`` fails on a path that goes around one).

- ``terminal``: any outside text on its way to a terminal (CLI and board alike).
- ``children``: the environment of every process rolecall starts.
- ``statefiles``: every read and write of a file in rolecall's config, state, cache and
  runtime dirs, and reads of the AWS files.

Standard library only: the fast paths go through these doors too.
"""
