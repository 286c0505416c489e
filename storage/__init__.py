"""Cryopreservation, storage inventory, storage temperatures, shipment and thaw of dose units.

Sits between ``batches`` (it reads and writes doses, custody) and ``compliance``
(signatures, readiness): compliance reads storage facts; storage never imports
compliance.
"""
