"""Pure compliance rules: QC specifications, signatures' content hashes, readiness.

No ORM, no request, no clock: time is passed in.
"""
