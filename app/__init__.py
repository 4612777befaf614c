"""GIR Bench service: settings, database, business areas, pages and the operator CLI.

May import :mod:`gir_core`; never imported by it.
"""
