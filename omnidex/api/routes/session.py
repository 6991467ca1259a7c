"""/v1/session: the web UI signs in with an API key, kept in a cookie that the browser sends with
every request, pictures, players and event streams included (they cannot carry a header)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status
from pydantic import BaseModel, Field

from omnidex.api.deps import SESSION_COOKIE, CallerDep, RuntimeDep, caller_of
from omnidex.errors import Unauthorized
from omnidex.schemas import ErrorResponse

router = APIRouter(prefix="/v1/session", tags=["session"])


class SignIn(BaseModel):
    api_key: str = Field(min_length=1, max_length=512, description="An API key (`omnidex keys create`).")


class SessionOut(BaseModel):
    tenant: str
    role: str
    keys: bool = Field(description="Whether this server asks for API keys at all.")


@router.get("", response_model=SessionOut, responses={401: {"model": ErrorResponse}})
def who(caller: CallerDep, runtime: RuntimeDep) -> SessionOut:
    """Who the request speaks for (401 when keys exist and it names none)."""
    return SessionOut(tenant=caller.tenant, role=str(caller.role), keys=runtime.keys.keys_exist())


@router.post("", response_model=SessionOut, responses={401: {"model": ErrorResponse}})
def sign_in(
    request: Request, response: Response, runtime: RuntimeDep, body: Annotated[SignIn, Body()]
) -> SessionOut:
    """Check an API key and keep it in an HttpOnly, SameSite=Strict cookie for this browser session."""
    if not runtime.keys.keys_exist():
        return SessionOut(tenant=runtime.settings.tenant, role="admin", keys=False)
    try:
        caller = caller_of(runtime, f"Bearer {body.api_key.strip()}")
    except Unauthorized as exc:
        raise Unauthorized("that API key is not valid, or it was revoked") from exc
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        SESSION_COOKIE, body.api_key.strip(), httponly=True, samesite="strict", secure=secure, path="/"
    )
    return SessionOut(tenant=caller.tenant, role=str(caller.role), keys=True)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def sign_out() -> Response:
    """Forget this browser's key."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
