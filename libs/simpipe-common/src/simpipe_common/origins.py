"""Browser origins allowed to call SIM-PIPE from another origin (a GUI's
pages): the gateway's CORS answers and the CORS rules of the buckets the
storage-broker creates take the same setting, SIMPIPE_CORS_ALLOWED_ORIGINS.

Each origin is named exactly (scheme, host, port): a wildcard would let any
page a user visits drive the API with the user's credentials, so it is
refused at start."""

from urllib.parse import urlsplit

# How long a browser may keep a preflight's answer.
PREFLIGHT_MAX_AGE_SECONDS = 600
MAX_ORIGINS = 50


def parse_origins(value: str, what: str = "CORS origin") -> tuple[str, ...]:
    """The origins of a comma-separated setting, each checked: `scheme://host[:port]`
    with http or https, nothing after it. Raises ValueError naming the bad one."""
    origins = tuple(part.strip() for part in value.split(",") if part.strip())
    if len(origins) > MAX_ORIGINS:
        raise ValueError(f"at most {MAX_ORIGINS} {what}s; {len(origins)} given")
    for origin in origins:
        if origin == "*" or "*" in origin:
            raise ValueError(f"a {what} must be named exactly; '*' is not allowed")
        try:
            parts = urlsplit(origin)
            port = parts.port  # raises on a port that is not a number
        except ValueError:
            raise ValueError(f"{what} {origin!r} is not scheme://host[:port]") from None
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username is not None
            or (port is not None and not 0 < port < 65536)
        ):
            raise ValueError(f"{what} {origin!r} is not scheme://host[:port] (http or https)")
    # Browsers send the origin without a trailing slash.
    return tuple(origin.rstrip("/") for origin in origins)
