"""Every error of an operation, typed, logged at the level it deserves and
told to the client without internals.

- the client's mistakes (syntax, validation, bounds, bad input, not found,
  unauthenticated, ...): info, no traceback, the message as it is;
- a service away or slow (SERVICE_UNAVAILABLE, TIMEOUT): warning;
- a fault of the gateway (a resolver or hook raised something untyped, or
  broke the schema's promises): error, with its one traceback, under a
  correlation id; the client gets INTERNAL_SERVER_ERROR and that id only.

Errors graphql-core reports itself carry no code; they get one here:
GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, INPUT_VALIDATION_ERROR (a
variable that does not coerce) or QUERY_TOO_COMPLEX (a bound passed).
A variable that does not coerce is not quoted back: graphql-core's message
shows its value (a whole input object, a password with it), which would be
logged and answered.
"""

import re

import structlog
from graphql import GraphQLError, GraphQLSyntaxError
from graphql.validation.validate import ValidationAbortedError

from simpipe_gateway.bounds import is_token_limit
from simpipe_gateway.deadline import TIMEOUT
from simpipe_gateway.errors import INTERNAL, QUERY_TOO_COMPLEX, SERVICE_UNAVAILABLE, internal_error

log = structlog.get_logger(__name__)

_SERVER_SIDE = frozenset({SERVICE_UNAVAILABLE, TIMEOUT})
# graphql-core's "Variable '$x' has invalid value[ at .path]: <detail>", where
# the detail quotes the value after ", found: " (an input object) or
# "value: " (a scalar); what comes before is its own text and schema names.
_VARIABLE_ERROR = re.compile(r"(Variable '\$\w+' has invalid value(?: at [^:]*)?: )(.*)", re.DOTALL)
_VALUE_MARKERS = (", found: ", "value: ")


def report_errors(errors: list[GraphQLError], max_tokens: int) -> None:
    for error in errors:
        if error.path is None:
            error.message = without_values(error.message)
        extensions = error.extensions or {}
        code = extensions.get("code")
        if code == INTERNAL and "correlationId" in extensions:
            continue  # logged where it was made (errors.internal_error), or already here
        if code is None:
            code = _client_code(error, max_tokens)
            if code is None:
                _mask(error)
                continue
            error.extensions = {**extensions, "code": code}
        level = log.warning if code in _SERVER_SIDE else log.info
        level("request refused", code=code, message=error.message, path=error.path)


def without_values(message: str) -> str:
    """A variable's coercion error without the value it quotes."""
    found = _VARIABLE_ERROR.fullmatch(message)
    if found is None:
        return message
    prefix, detail = found.groups()
    cuts = [at + len(m) for m in _VALUE_MARKERS if (at := detail.find(m)) >= 0]
    return prefix + detail[: min(cuts)] + "(not shown)" if cuts else message


def _client_code(error: GraphQLError, max_tokens: int) -> str | None:
    """The code of an error graphql-core reported about the request; None
    for one the gateway caused."""
    if isinstance(error, GraphQLSyntaxError):
        return QUERY_TOO_COMPLEX if is_token_limit(error, max_tokens) else "GRAPHQL_PARSE_FAILED"
    if isinstance(error, ValidationAbortedError):
        return QUERY_TOO_COMPLEX  # too many errors, or fragments nested too deeply
    if error.path is not None or not error.nodes:
        # Raised while resolving a field, or by a hook: not the request's fault.
        return None
    return "GRAPHQL_VALIDATION_FAILED" if error.original_error is None else "INPUT_VALIDATION_ERROR"


def _mask(error: GraphQLError) -> None:
    """Logs the fault once with its traceback, and leaves the client only its id."""
    cause = error.original_error
    masked = internal_error(
        f"{error.message} at {error.path}" if cause is None else f"{cause!r} at {error.path}", cause
    )
    error.message, error.extensions, error.original_error = masked.message, masked.extensions, None
