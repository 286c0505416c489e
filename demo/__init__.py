"""Demo data for a newcomer to click through: ``manage.py seed_demo`` (``make run`` calls it).

* ``seed``: clinics, staff, locations and the list of demo batches.
* ``culture``: custody legs and culture steps up to formulation, back-dated.
* ``outcomes``: QC, the signed checklist, QA release or rejection, infusion, expiry.
"""
