"""``rolecall run`` (see docs/architecture.md, Run across accounts): one command across many roles,
each in its own process
with only its own credentials. ``targets`` selects and checks before anything runs,
``executor`` assumes and runs with bounded parallelism, ``results`` holds what each
target did and the ``--json`` shape."""
