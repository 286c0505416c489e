"""``{% growth_chart batch %}``: the batch's growth chart as inline SVG, for the web batch page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from batches import selectors
from documents.charts import batch_chart_svg

register = template.Library()


@register.simple_tag
def growth_chart(batch: Any) -> SafeString:
    """The same SVG the batch record prints; no query when the batch has effective steps and growth."""
    steps = getattr(batch, "effective_steps", None)
    if steps is None:
        steps = selectors.effective_steps(batch)
    growth = getattr(batch, "growth", None) or selectors.batch_growth(batch, steps)
    return batch_chart_svg(batch, steps, growth.projection)
