"""Signed webhooks to clinic systems, through a transactional outbox.

* ``models``: a clinic's ``WebhookEndpoint`` and the ``OutboxEvent`` rows, one per endpoint.
* ``outbox.emit``: called by the service that made a change, inside its transaction.
* ``safety``: which URLs and addresses we may call (https, no private networks).
* ``transport``: one HTTP POST to the checked address, bounded in time and size.
* ``delivery``: claim due events, sign them (Standard Webhooks), send, back off, give up.
* ``services`` / ``selectors``: endpoint management and redelivery for the API and the admin.
* ``tasks``: the Celery drain, enqueued on commit and run by beat.
"""
