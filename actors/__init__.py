"""Dapr virtual actors: each customer is one CustomerActor, the single writer of its state."""
