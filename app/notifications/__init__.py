"""Notifications through a transactional outbox.

events.py        what a commit reports: event types and the OutboxEvent properties the commit writes
subscriptions.py who wants which events (a file and/or the admin API; Subscription nodes)
delivery.py      `deliver_pending`: signed webhook POSTs with retries and exponential backoff
service.py       outbox listing and retries for the admin API and the CLI
"""
