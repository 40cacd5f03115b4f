"""What several analysis families share: rows paired by sample id, classifier metrics, JSON-safe
values, torch threads.

May import: ``core``.
"""
