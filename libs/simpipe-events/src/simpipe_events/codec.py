"""The contract's events as FastStream messages: protobuf on the wire, the
message type told by the subject (see contract.decode) and named in the
content type for readers that do not know the contract."""

from typing import Any

from faststream import StreamMessage
from google.protobuf.message import Message

from simpipe_events import contract


class ProtobufCodec:
    """A FastStream codec (the broker's and subscribers' `codec=`). Handlers
    take the event typed as its proto message, on a broker made with
    `serializer=None`: the proto type is the schema, nothing validates it
    again."""

    # Any: FastStream types decoded bodies as JSON values; ours are protobuf.
    async def decode(self, msg: StreamMessage[Any]) -> Any:
        subject: str = msg.raw_message.subject
        return contract.decode(subject, msg.body)

    async def encode(self, msg: Any, serializer: Any = None) -> tuple[bytes, str | None]:
        if isinstance(msg, Message):
            return msg.SerializeToString(), content_type(msg)
        # A handler's None (FastStream encodes what a handler returns) and
        # bytes as they are (a dead letter keeps the body it could not read).
        if msg is None:
            return b"", None
        if isinstance(msg, bytes):
            return msg, None
        raise TypeError(f"events are protobuf messages of the contract, not {type(msg)!r}")


def content_type(event: Message) -> str:
    return contract.CONTENT_TYPE_PREFIX + event.DESCRIPTOR.full_name
