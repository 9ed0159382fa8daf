"""The `data` schemas of every event, one module per publisher: the contract's half that services share.

A consumer loads another service's events through `shared.contract`, which names these schemas,
so no service imports another's modules to read what it is sent.

Every event schema is a tolerant reader: consumers ignore fields they do not know, so a producer
can add a field without dead-lettering the events of consumers that have not been redeployed yet.
Removing or changing a field is a breaking change and gets a new event type.
"""
from marshmallow import EXCLUDE, Schema, validate

PRIORITIES = ("P1", "P2", "P3", "P4")
E164 = validate.Regexp(r"^\+[1-9]\d{6,14}$", error="must be E.164")
NRP = validate.Regexp(r"^\d{8,18}$", error="an NRP is 8 to 18 digits")


class EventSchema(Schema):
    class Meta:
        unknown = EXCLUDE
