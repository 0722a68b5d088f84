"""GraphQL on access tokens: a user creates, lists and revokes their own
(access_tokens keeps them). Beside them, the original SIM-PIPE API's
`apiTokens` / `updateApiTokens` (the controller's keys for the external
Moose and OpenRouter services) keep their names and shapes; this
installation calls neither service, so no key is ever stored."""

from datetime import datetime

import strawberry

from simpipe_common.errors import InvalidInputError, ServiceError, UnavailableError
from simpipe_gateway.access_tokens import AccessToken as StoredToken
from simpipe_gateway.access_tokens import AccessTokenStore, refuse_token_minting
from simpipe_gateway.context import GatewayInfo, caller, credential, gateway
from simpipe_gateway.errors import from_service_error


@strawberry.type(description="An access token of the caller's (never the token itself).")
class AccessToken:
    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None


@strawberry.type(description="A new access token: `token` is shown this once, and kept nowhere.")
class CreatedAccessToken:
    token: str
    access_token: AccessToken


@strawberry.type(description="Masked view of one of the original API's external service keys.")
class ApiTokenState:
    has_value: bool = strawberry.field(description="True if a value is currently stored.")
    masked_preview: str | None = strawberry.field(
        description="Partially-masked preview (never the full secret)."
    )


@strawberry.type(description="The original API's keys for external services (none are used here).")
class ApiTokens:
    moose_api_key: ApiTokenState
    openrouter_api_key: ApiTokenState


def _view(token: StoredToken) -> AccessToken:
    return AccessToken(
        id=token.id, name=token.name, created_at=token.created_at, expires_at=token.expires_at
    )


def _no_keys() -> ApiTokens:
    return ApiTokens(
        moose_api_key=ApiTokenState(has_value=False, masked_preview=None),
        openrouter_api_key=ApiTokenState(has_value=False, masked_preview=None),
    )


def _store(info: GatewayInfo) -> AccessTokenStore:
    store = gateway(info).authenticator.store
    if store is None:
        raise from_service_error(UnavailableError("access tokens are not kept here"))
    return store


async def _owner(info: GatewayInfo) -> tuple[str, str | None]:
    """(the caller's name, the id of the access token they called with)."""
    name = await caller(info)  # UNAUTHENTICATED without a caller
    found = await credential(info)
    return name, None if found is None else found.token_id


@strawberry.type
class AccessTokenQuery:
    @strawberry.field(description="The caller's access tokens, oldest first.")  # type: ignore[untyped-decorator]
    async def access_tokens(self, info: GatewayInfo) -> list[AccessToken]:
        owner, _ = await _owner(info)
        return [_view(t) for t in _store(info).of_owner(owner)]

    @strawberry.field(description="The original API's external service keys: none are stored.")  # type: ignore[untyped-decorator]
    async def api_tokens(self, info: GatewayInfo) -> ApiTokens:
        await _owner(info)
        return _no_keys()


@strawberry.type
class AccessTokenMutation:
    @strawberry.mutation(
        description="A new access token acting as the caller, valid expiresInDays days"
        " (default and limit: the gateway's settings)."
    )  # type: ignore[untyped-decorator]
    async def create_access_token(
        self, info: GatewayInfo, name: str, expires_in_days: int | None = None
    ) -> CreatedAccessToken:
        owner, token_id = await _owner(info)
        try:
            if token_id is not None:
                raise refuse_token_minting()
            token, record = await _store(info).create(owner, name, expires_in_days)
        except ServiceError as error:
            raise from_service_error(error) from None
        return CreatedAccessToken(token=token, access_token=_view(record))

    @strawberry.mutation(
        description="Revokes one of the caller's access tokens, everywhere within seconds."
    )  # type: ignore[untyped-decorator]
    async def revoke_access_token(self, info: GatewayInfo, id: str) -> bool:
        owner, _ = await _owner(info)
        try:
            await _store(info).revoke(owner, id)
        except ServiceError as error:
            raise from_service_error(error) from None
        return True

    @strawberry.mutation(
        description="The original API's update of its external service keys: this installation"
        " stores none, so a value is refused."
    )  # type: ignore[untyped-decorator]
    async def update_api_tokens(
        self,
        info: GatewayInfo,
        moose_api_key: str | None = None,
        openrouter_api_key: str | None = None,
    ) -> ApiTokens:
        await _owner(info)
        if moose_api_key is not None or openrouter_api_key is not None:
            raise from_service_error(
                InvalidInputError("this installation calls no Moose or OpenRouter service")
            )
        return _no_keys()
