"""Inbound events: validate, then route each to its customer's actor through Dapr."""
