"""The REST API of both apps (``/api/v1/``), with its shared plumbing.

* ``auth``, ``permissions``: bearer tokens, role checks, clinic scoping.
* ``base``, ``errors``, ``filters``: ApiView, problem+json, pagination.
* ``lab``: clinics, patients, collections, batches, custody and culture steps.
* ``gmp``: QC, deviations, checklist signing, release, readiness, infusions.
* ``fhir``: the R5 BiologicallyDerivedProduct of a dose.
"""
