"""What the service counts for its operators: Prometheus metrics, below every layer that records them."""
