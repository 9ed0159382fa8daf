"""The AsyncAPI 3 document of Siaga's events, generated from `shared.contract` (see generate.py)."""
