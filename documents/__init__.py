"""Documents of a batch: the batch record, the certificate of analysis, labels, CSV exports, the growth chart.

Everything here only reads (through ``batches`` and ``compliance`` selectors)
and renders; the one write is the download log (``services.download_log``).
"""
