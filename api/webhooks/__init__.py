"""The webhooks API: a clinic manages its endpoints and sees (and redelivers) its events."""
