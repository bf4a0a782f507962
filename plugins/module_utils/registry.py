# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registries: the options of ``berth.core.registry``, the plan, the engine calls.

One registry's relationship with the host's engine: stored credentials (login / logout with
``community.docker.docker_login``'s option names and semantics) and the settings users
otherwise template into daemon.json and certs.d by hand: ``insecure-registries``,
``registry-mirrors`` (Docker Hub's only, as in Docker), ``certs.d/<host>/ca.crt`` and a
client certificate.

Each setting is managed only when the task gives it (an empty string removes a certificate,
``mirrors: []`` removes the mirrors). A login is needed when the stored credentials differ
from the task's; comparing them needs no network, so a run with nothing to change never
talks to the registry (``reauthorize`` checks the stored credentials against it anyway, as
docker_login does). The new credentials are checked by the registry before they are stored
(the engine's ``login``), after the task's settings are written, so a login can rely on the
CA or ``insecure`` the same task sets. Check mode does not contact the registry.

Secrets never leave this module: the password is compared here and shown nowhere (the diff
says ``<hidden>`` and whether it changes), the client key likewise.
"""

from __future__ import annotations

import hashlib
import hmac
import typing
from pathlib import Path

from ansible_collections.berth.core.plugins.module_utils.compat import SecretStr, field_validator
from ansible_collections.berth.core.plugins.module_utils.options import ModuleOptions, option
from ansible_collections.berth.core.plugins.module_utils.runner import Action, Difference, Plan, Refused, Resource

HUB = "docker.io"  # berth.config.registries.HUB (the unit tests check they agree)
HIDDEN = "<hidden>"
HIDDEN_CHANGED = "<hidden, changed>"
#: option -> certs.d file name
CERT_OPTIONS = {"ca_cert": "ca.crt", "client_cert": "client.cert", "client_key": "client.key"}


class RegistryOptions(ModuleOptions):
    registry_url: str = option("https://index.docker.io/v1/", aliases=["registry", "url"])
    username: str | None = None
    password: SecretStr | None = None
    reauthorize: bool = option(False, aliases=["reauth"])
    state: typing.Literal["present", "absent"] = "present"
    mirrors: list[str] | None = None
    insecure: bool | None = None
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: SecretStr | None = None

    module_kwargs: typing.ClassVar[dict] = {
        "required_together": [["username", "password"], ["client_cert", "client_key"]],
        "required_if": [["reauthorize", True, ["username", "password"]]],
    }

    @field_validator("mirrors")
    @classmethod
    def _mirror_urls(cls, value):
        for url in value or ():
            scheme, sep, rest = url.partition("://")
            if scheme not in ("http", "https") or not sep or not rest.strip("/"):
                raise ValueError(f"invalid mirror URL {url!r} (want http[s]://host[:port])")
        return None if value is None else [u.rstrip("/") for u in value]

    @field_validator("ca_cert", "client_cert")
    @classmethod
    def _certificate(cls, value):
        return pem(value, "CERTIFICATE")

    @field_validator("client_key")
    @classmethod
    def _key(cls, value):
        if value is None:
            return None
        return SecretStr(pem(value.get_secret_value(), "PRIVATE KEY"))


def pem(value: str | None, kind: str) -> str | None:
    """PEM text given as such, or read from a path on the host; "" stays "" (remove the file)."""
    if value is None or value == "":
        return value
    text = value
    if "-----BEGIN" not in value:
        try:
            text = Path(value).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"neither PEM text nor a readable file: {exc.strerror or exc}") from None
    if f"-----BEGIN {kind}-----" not in text and not (kind == "PRIVATE KEY" and "PRIVATE KEY-----" in text):
        raise ValueError(f"no PEM {kind.lower()} (-----BEGIN {kind}-----) in it")
    return text if text.endswith("\n") else text + "\n"


# -- pure planning -----------------------------------------------------------------------------
def plan_registry(want: RegistryOptions, have: dict) -> Plan:
    """``have``: ``{"registry": name, "login": {"username", "password_matches"} or None,
    "insecure": listed exactly, "mirrors": Docker Hub's, "certs": {file: bytes}}``."""
    name = have["registry"]
    actions: list[Action] = []
    differences: list[Difference] = []
    hub = name == HUB
    if want.mirrors is not None:
        if not hub:
            raise Refused(f"mirrors: berth, like Docker, has mirrors for Docker Hub only (registry-mirrors); "
                          f"{name} is not Docker Hub")
        if want.mirrors != have["mirrors"]:
            actions.append(Action("mirrors", f"set the mirrors of {name}", mirrors=list(want.mirrors)))
            differences.append(Difference("mirrors", have["mirrors"], list(want.mirrors)))
    if want.insecure is not None and want.insecure != have["insecure"]:
        if hub:
            raise Refused(f"insecure: {name} is always reached over TLS")
        verb = "add" if want.insecure else "remove"
        actions.append(Action("insecure", f"{verb} {name} {'to' if want.insecure else 'from'} insecure-registries",
                              registry=name, insecure=want.insecure))
        differences.append(Difference("insecure", have["insecure"], want.insecure))
    for field, filename in CERT_OPTIONS.items():
        wanted = _secret(getattr(want, field))
        if wanted is None:
            continue
        if hub:
            raise Refused(f"{field}: {name} uses public certificates; certs.d is for other registries")
        data = wanted.encode() or None
        current = have["certs"].get(filename)
        if data != current:
            verb = "remove" if data is None else "write"
            actions.append(Action("cert", f"{verb} certs.d/{name}/{filename}", registry=name, name=filename, data=data))
            differences.append(Difference(field, _shown(field, current), _shown(field, data, changed=True)))
    login = have["login"]
    if want.state == "absent":
        if login is not None:
            actions.append(Action("logout", f"log out of {name}", registry=name))
            differences.append(Difference("credentials", {"username": login["username"], "password": HIDDEN}, None))
    elif want.username is not None and (login is None or login["username"] != want.username
                                        or not login["password_matches"]):
        # the settings above come first: the registry is reached as the task configures it
        actions.append(Action("login", f"log in to {name} as {want.username}", registry=name,
                              username=want.username, password=want.password))
        before = None if login is None else {"username": login["username"], "password": HIDDEN}
        same_password = login is not None and login["password_matches"]
        differences.append(Difference("credentials", before, {"username": want.username,
                                                              "password": HIDDEN if same_password else HIDDEN_CHANGED}))
    return Plan(actions, differences)


def _secret(value):
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _shown(field: str, data: bytes | None, *, changed: bool = False):
    """How a certs.d file appears in the diff: a certificate by its sha256, the key never."""
    if data is None:
        return None
    if field == "client_key":
        return HIDDEN_CHANGED if changed else HIDDEN
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- the engine ----------------------------------------------------------------------------------
class Registry(Resource):
    options = RegistryOptions
    result_key = "registry"
    error_fields: typing.ClassVar[dict] = {"value": "registry_url"}

    def __init__(self, engine, opts) -> None:
        super().__init__(engine, opts)
        self._verified = False

    def observe(self) -> dict:
        from berth.config.registries import registry_name

        opts = self.opts
        name = registry_name(opts.registry_url)
        stored = self.engine.credentials.get(name)
        login = None
        if stored is not None:
            wanted = _secret(opts.password)
            matches = wanted is not None and hmac.compare_digest(stored.password.encode(), wanted.encode())
            login = {"username": stored.username, "password_matches": matches}
            if opts.reauthorize and not self._verified and opts.state == "present" and matches \
                    and stored.username == opts.username:
                self._check_login(name, stored)
        config = self.engine.config
        return {"registry": name, "login": login, "insecure": name in config.insecure_registries,
                "mirrors": list(config.registry_mirrors),
                "certs": {} if name == HUB else self.engine.registry_certs(name)}

    def _check_login(self, name: str, creds) -> None:
        """``reauthorize``: the stored credentials, still those of the task, checked by the registry."""
        with self.engine.registry_client(name, creds) as client:
            _login_errors(client.check_login)
        self._verified = True

    plan = staticmethod(plan_registry)

    def report(self, actual) -> dict:
        certs = actual["certs"]
        out = {"name": actual["registry"], "logged_in": actual["login"] is not None,
               "username": (actual["login"] or {}).get("username"), "insecure": actual["insecure"],
               "ca_cert": _shown("ca_cert", certs.get("ca.crt")),
               "client_cert": _shown("client_cert", certs.get("client.cert")),
               "client_key": "client.key" in certs}
        if actual["registry"] == HUB:
            out["mirrors"] = actual["mirrors"]
        return {"registry": out}

    # -- actions
    def apply_mirrors(self, mirrors: list) -> None:
        self.engine.set_registry_mirrors(mirrors)

    def apply_insecure(self, registry: str, insecure: bool) -> None:
        self.engine.set_insecure_registry(registry, insecure)

    def apply_cert(self, registry: str, name: str, data: bytes | None) -> None:
        self.engine.set_registry_cert(registry, name, data)

    def apply_login(self, registry: str, username: str, password) -> None:
        _login_errors(lambda: self.engine.login(registry, username, password.get_secret_value()))
        self._verified = True

    def apply_logout(self, registry: str) -> None:
        self.engine.logout(registry)


def _login_errors(call) -> None:
    """A registry refusing the credentials names the options to fix."""
    from berth.errors import AuthenticationRequired

    try:
        call()
    except AuthenticationRequired as exc:
        raise Refused(f"username/password: {exc} (the registry refused them; nothing was stored)") from None
