"""Display names the documents print that other apps define (choices, result codes, reasons).

Marked here so this app's Japanese catalogue carries them and a record prints
in Japanese whatever other catalogues are installed; the templates and
selectors pass the English display name through gettext.
"""

from django.utils.translation import gettext_noop

VOCABULARY = (
    # Signature meanings (21 CFR 11.50)
    gettext_noop("Authored"), gettext_noop("Reviewed"), gettext_noop("Verified"), gettext_noop("Approved"),
    # Step kinds
    gettext_noop("Receipt"), gettext_noop("Seeding"), gettext_noop("Feeding (media change)"),
    gettext_noop("Passage"), gettext_noop("Cell count"), gettext_noop("Harvest"), gettext_noop("Formulation"),
    # Batch statuses
    gettext_noop("Awaiting receipt"), gettext_noop("Received"), gettext_noop("In culture"),
    gettext_noop("Harvested"), gettext_noop("Pending release"), gettext_noop("Released"),
    gettext_noop("Quarantined"), gettext_noop("Rejected"), gettext_noop("Infused"), gettext_noop("Expired"),
    gettext_noop("Discarded"),
    # Dose statuses
    gettext_noop("Available"), gettext_noop("Unavailable"),
    # Findings
    gettext_noop("Identity check failed"), gettext_noop("Custody gap"), gettext_noop("Temperature excursion"),
    gettext_noop("Seal not intact"), gettext_noop("Received later than the protocol allows"),
    # Deviations and decisions
    gettext_noop("Minor"), gettext_noop("Major"), gettext_noop("Critical"), gettext_noop("Open"),
    gettext_noop("Closed"), gettext_noop("Release"), gettext_noop("Reject"),
    # Collections
    gettext_noop("Bone marrow"), gettext_noop("Adipose tissue"), gettext_noop("Peripheral blood (serum)"),
    # Qualitative QC results
    gettext_noop("no growth"), gettext_noop("growth"), gettext_noop("negative"), gettext_noop("positive"),
    # Projection reasons (batches.domain.growth)
    gettext_noop("no counts"), gettext_noop("only one count"), gettext_noop("no growth"),
)  # fmt: skip
