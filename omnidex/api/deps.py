"""Dependencies shared by the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from omnidex.config import Settings
from omnidex.errors import Unavailable
from omnidex.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise Unavailable("the service is starting up")
    return runtime


async def get_settings_dep(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Settings:
    return runtime.settings


async def get_tenant(settings: Annotated[Settings, Depends(get_settings_dep)]) -> str:
    """The caller's tenant; without API keys every caller is the default tenant."""
    return settings.tenant


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TenantDep = Annotated[str, Depends(get_tenant)]
