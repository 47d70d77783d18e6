"""Provider sandbox: emulates Google, Microsoft and Exchange calendar wire protocols over real
sockets, with a control API for tests and demos. The Django app never imports it.

Start it with `python -m sandbox`, or inside tests with `sandbox.testing.start_sandbox()`.
"""
