"""The synthetic world: ports, routes, sailings, customers, trips, social posts, the
booking funnel and the ground-truth response model, seeded and deterministic."""
