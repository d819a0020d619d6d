"""Benchmarks against a real local stack; run with: .venv/bin/python -m bench"""
