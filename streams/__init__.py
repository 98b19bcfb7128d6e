"""The stream processor: per-event feature updates and the agents that apply them."""
