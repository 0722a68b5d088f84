"""Request bodies are bounded before anything reads them: a request names
its length (uvicorn holds the body to it), and a length above the route's
limit is refused unread."""


def body_refusal(headers: dict[bytes, bytes], limit: int) -> tuple[int, str] | None:
    """(status, message) refusing the request, or None to read it."""
    length = headers.get(b"content-length")
    if length is None or not length.isdigit():
        return 411, "send the request with a Content-Length"
    if int(length) > limit:
        return 413, f"the request is {int(length)} bytes; the limit is {limit}"
    return None
