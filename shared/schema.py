"""Base for every event schema: a tolerant reader.

Consumers ignore fields they do not know, so a producer can add a field without dead-lettering
the events of consumers that have not been redeployed yet. Removing or changing a field is a
breaking change and gets a new event type.
"""
from marshmallow import EXCLUDE, Schema


class EventSchema(Schema):
    class Meta:
        unknown = EXCLUDE
