"""In-memory stand-ins for a service's own store (repository fakes), for the unit tier."""
