"""nameko's RPC entrypoint and proxy, on a consumer that stops promptly (shared/messaging.py's
PromptQueueConsumer): services and the console declare `@rpc` and `RpcProxy` from here."""
from __future__ import annotations

from nameko import rpc as nameko_rpc

from shared.messaging import PromptQueueConsumer


class RpcConsumer(nameko_rpc.RpcConsumer):
    queue_consumer = PromptQueueConsumer()


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = RpcConsumer()


rpc = Rpc.decorator


class ReplyListener(nameko_rpc.ReplyListener):
    queue_consumer = PromptQueueConsumer()


class RpcProxy(nameko_rpc.RpcProxy):
    rpc_reply_listener = ReplyListener()
