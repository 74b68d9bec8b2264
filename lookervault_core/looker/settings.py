"""Connection settings for one Looker instance, from arguments or LOOKERSDK_* variables.

`LookerSettings` is what the rest of the project passes around; `SdkSettings`
adapts it to the looker-sdk's `ApiSettings` so no looker.ini is ever needed.
The client secret is excluded from `repr`/`str` and never enters an error
message.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from looker_sdk.rtl import api_settings
from looker_sdk.sdk import constants

from lookervault_core.errors import ConfigurationError

__all__ = ["ENV_VARS", "LookerSettings", "SdkSettings"]

#: Setting name → the standard looker-sdk environment variable that supplies it.
ENV_VARS: Mapping[str, str] = {
    "base_url": "LOOKERSDK_BASE_URL",
    "client_id": "LOOKERSDK_CLIENT_ID",
    "client_secret": "LOOKERSDK_CLIENT_SECRET",
    "verify_ssl": "LOOKERSDK_VERIFY_SSL",
    "timeout": "LOOKERSDK_TIMEOUT",
}

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class LookerSettings:
    """Where and as whom to reach one Looker instance.

    Attributes:
        base_url: ``scheme://host[:port]`` of the API, no path (a trailing slash
            is stripped).
        client_id: API3 client id.
        client_secret: API3 client secret; kept out of ``repr`` and ``str``.
        verify_ssl: Verify the server's TLS certificate.
        timeout: Seconds to wait for one HTTP response.
        workers: Threads that will share the client; sizes the connection pool.

    Raises:
        ConfigurationError: A value is missing or malformed.
    """

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    verify_ssl: bool = True
    timeout: int = 120
    workers: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", _normalise_base_url(self.base_url))
        if not self.client_id:
            raise ConfigurationError("client_id is empty (set LOOKERSDK_CLIENT_ID)")
        if not self.client_secret:
            raise ConfigurationError("client_secret is empty (set LOOKERSDK_CLIENT_SECRET)")
        if not isinstance(self.verify_ssl, bool):
            raise ConfigurationError("verify_ssl must be a bool")
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int) or self.timeout <= 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds, not {self.timeout!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers <= 0:
            raise ConfigurationError(f"workers must be a positive integer, not {self.workers!r}")

    @classmethod
    def from_env(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: str | bool | int,
    ) -> LookerSettings:
        """Build settings from the standard LOOKERSDK_* variables.

        Keyword overrides (``base_url=...``, ``workers=...``) win over the
        environment. TLS verification stays on unless LOOKERSDK_VERIFY_SSL is
        explicitly false.

        Args:
            environ: Variables to read instead of ``os.environ`` (tests).
            **overrides: Field values that take precedence over the environment.

        Raises:
            ConfigurationError: A required variable is missing, a value is
                malformed, or an override names no field.
        """
        env = os.environ if environ is None else environ
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigurationError(f"unknown Looker setting(s): {', '.join(unknown)}")
        values: dict[str, str | bool | int] = {}
        for name, var in ENV_VARS.items():
            raw = env.get(var, "").strip()
            if name in overrides or not raw:
                continue
            if name == "verify_ssl":
                values[name] = _parse_bool(var, raw)
            elif name == "timeout":
                values[name] = _parse_int(var, raw)
            else:
                values[name] = raw
        values.update(overrides)
        for name in ("base_url", "client_id", "client_secret"):
            if not values.get(name):
                raise ConfigurationError(f"{ENV_VARS[name]} is not set (Looker {name} is required)")
        return cls(
            base_url=str(values["base_url"]),
            client_id=str(values["client_id"]),
            client_secret=str(values["client_secret"]),
            verify_ssl=_as_bool("verify_ssl", values.get("verify_ssl", True)),
            timeout=_as_int("timeout", values.get("timeout", 120)),
            workers=_as_int("workers", values.get("workers", 8)),
        )

    @property
    def host(self) -> str:
        """``host[:port]`` of the instance, lower case, default port dropped."""
        parts = urllib.parse.urlsplit(self.base_url)
        host = (parts.hostname or "").lower()
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        port = parts.port
        if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
            return f"{host}:{port}"
        return host

    @property
    def instance_id(self) -> str:
        """A stable key for this Looker instance (its host), used to key id maps."""
        return self.host

    def sdk_settings(self) -> SdkSettings:
        """These settings as the looker-sdk's `ApiSettings`."""
        return SdkSettings(self)


class SdkSettings(api_settings.ApiSettings):
    """`ApiSettings` that reads from a `LookerSettings` instead of looker.ini or the environment."""

    def __init__(self, settings: LookerSettings) -> None:
        self._looker_settings = settings
        # ApiSettings.__init__ accepts the default "looker.ini" when it does not
        # exist; read_config() below never opens it either way. env_prefix=None
        # keeps the SDK from re-reading LOOKERSDK_* behind our back.
        super().__init__(
            filename="looker.ini",
            sdk_version=constants.sdk_version,
            env_prefix=None,
        )

    def read_config(self) -> api_settings.SettingsConfig:
        """The SDK's configuration mapping (its values are strings)."""
        s = self._looker_settings
        return {
            "base_url": s.base_url,
            "client_id": s.client_id,
            "client_secret": s.client_secret,
            "verify_ssl": "true" if s.verify_ssl else "false",
            "timeout": str(s.timeout),
        }

    def __repr__(self) -> str:
        return f"SdkSettings(base_url={self.base_url!r})"


def _normalise_base_url(value: str) -> str:
    if not value or not isinstance(value, str):
        raise ConfigurationError("base_url is empty (set LOOKERSDK_BASE_URL)")
    url = value.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # Never echo the URL: its user-info may hold a password.
        raise ConfigurationError("base_url must not contain user credentials")
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigurationError(f"base_url must look like https://host[:port], not {url!r}")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise ConfigurationError(f"base_url has an invalid port: {url!r}") from exc
    if parts.path or parts.query or parts.fragment:
        # The SDK appends /api/4.0/ itself; a path here yields /api/4.0/api/4.0/....
        raise ConfigurationError(f"base_url must have no path, query or fragment: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _parse_bool(var: str, raw: str) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigurationError(f"{var} must be true or false, not {raw!r}")


def _parse_int(var: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{var} must be an integer number of seconds, not {raw!r}") from exc


def _as_bool(name: str, value: str | bool | int) -> bool:
    if isinstance(value, str):
        return _parse_bool(name, value)
    return bool(value)


def _as_int(name: str, value: str | bool | int) -> int:
    if isinstance(value, str):
        return _parse_int(name, value)
    if isinstance(value, bool):
        raise ConfigurationError(f"{name} must be an integer, not {value!r}")
    return int(value)
