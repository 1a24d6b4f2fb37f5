"""Registries: a team's catalog kept in a git repository, fetched with the user's own
``git`` into rolecall's state dir, and merged under the user's own catalog.

- ``spec``: ``[registries.NAME]`` in the user's catalog (name, URL, ref, path, priority,
  prefix), checked as untrusted text.
- ``git``: the one place rolecall runs ``git`` (bounded time, no prompts where there is
  no terminal, git's output escaped before it is shown).
- ``copies``: the last good copy of each registry (one file, replaced atomically) and
  the record of each sync (when, and why it failed).
- ``merge``: a copy's roles and accounts into the inventory, below the user's own.
- ``sync``: fetching, checking and swapping in a new copy; the once-a-day sync on use.
- ``edit``: adding and removing ``[registries.NAME]`` in the catalog (tomlkit).
"""
