"""Siaga's own package shared by every service: envelope, contract, messaging, storage, launcher."""
