"""rolecall's domain core: configuration, roles and chains, STS, the session cache,
the credentials-file writer and environment building. Never imports a UI module.

Kept import-free on purpose: the credential_process fast path imports only what it needs.
"""
