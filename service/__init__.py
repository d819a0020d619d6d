"""The composition root: settings, wiring of adapters, the ASGI app, background workers."""
