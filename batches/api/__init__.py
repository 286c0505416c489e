"""The REST API of the batches app (``/api/v1/``): token auth, problem+json errors, role checks.

Shared with the compliance endpoints: ``base`` (ApiView, problems, batch_by_din),
``permissions`` (allow, scope_to_principal), ``errors`` (exception handler).
"""
