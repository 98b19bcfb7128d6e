"""Durable shared state (campaigns, consent) kept in compacted Kafka topics: written with
acks=all, and materialised in memory by every process that reads it."""
