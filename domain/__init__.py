"""Customer business rules: pure, no I/O. Everything here reads like the service spec."""
