"""The HTTP API: speaks HTTP and auth, forwards every customer operation to that customer's actor."""
