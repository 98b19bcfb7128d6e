"""Real-time decisions: from a trigger to one decision record per campaign considered.

Triggers, eligibility, contact policy and arbitration are pure functions over the
campaign, the customer's features and the moment; caps and budgets are reserved
atomically in Redis; the decision agent puts them together.
"""
