"""A cactus-client admin plugin for `idea serve sep2-server`.

The harness (cactus-client) asks, before a step, for a precondition on the server under test — "this client
has an EndDevice", "there is an active DERControl limiting export to 0 W" — as an *admin instruction*. This
plugin carries each one out through the server's operator API (`--operator-api`, HTTP/JSON behind a bearer
token), the same interface a utility's back office uses; it holds no knowledge of the server's insides.

Where the operator API is: `IDEA_OPERATOR_API` (`http://127.0.0.1:PORT`), and its token in
`IDEA_OPERATOR_TOKEN` (if the server asks for one). Each procedure runs against a fresh server, so the plugin
keeps the names the procedure gives (FSA annotations) and what it created for the run only.

CSIP-AUS controls (dynamic operating envelopes) are for one site: each client's EndDevice gets FSAs and
programs of its own, so what the harness asks for one client is never visible to another (the server's
authorisation refuses a client another's program).
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from typing import Any

from cactus_client.admin.plugins import hookimpl
from cactus_client.model.config import ClientConfig
from cactus_client.model.context import AdminContext
from cactus_client.model.execution import ActionResult, StepExecution
from cactus_client.model.parameter import resolve_variable_expressions_from_parameters
from cactus_test_definitions.server.test_procedures import AdminInstruction

logger = logging.getLogger(__name__)

# A control the harness creates without saying how long it lasts, and how far ahead a "scheduled" one starts:
# short, so that procedures that wait for a control to start and complete finish in seconds.
DEFAULT_DURATION_SECONDS = 20
DEFAULT_SCHEDULED_OFFSET_SECONDS = 5

# The CSIP-AUS modes in ActivePower (W) and how the harness names them.
ACTIVE_POWER_MODES = ("opModExpLimW", "opModImpLimW", "opModGenLimW", "opModLoadLimW")


class OperatorError(Exception):
    """The operator API refused a request or could not be reached."""


@dataclass
class OperatorApi:
    base: str
    token: str | None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base.rstrip("/") + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # nosec B310 - loopback operator API
                text = answer.read()
        except urllib.error.HTTPError as exc:
            raise OperatorError(f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from exc
        except OSError as exc:
            raise OperatorError(f"{method} {path}: {exc}") from exc
        return json.loads(text) if text else None


def active_power(watts: float) -> dict[str, int]:
    """An ActivePower: the smallest power-of-ten multiplier whose value fits the schema's Int16."""
    multiplier = 0
    value = watts
    while abs(value) > 32767 or (value != int(value) and multiplier > -3 and abs(value * 10) <= 32767):
        if abs(value) > 32767:
            value /= 10
            multiplier += 1
        else:
            value *= 10
            multiplier -= 1
    return {"multiplier": multiplier, "value": int(round(value))}


def control_base(parameters: dict[str, Any]) -> dict[str, Any]:
    """The DERControlBase of the modes the instruction names (CSIP-AUS extensions included)."""
    base: dict[str, Any] = {}
    for mode in ACTIVE_POWER_MODES:
        if parameters.get(mode) is not None:
            base[mode] = active_power(float(parameters[mode]))
    for mode in ("opModConnect", "opModEnergize"):
        if parameters.get(mode) is not None:
            base[mode] = bool(parameters[mode])
    if parameters.get("opModFixedW") is not None:
        # SignedPerCent: hundredths of a percent of the maximum active power.
        base["opModFixedW"] = int(round(float(parameters["opModFixedW"]) * 100))
    if parameters.get("rampTms") is not None:
        base["rampTms"] = int(parameters["rampTms"])
    return base


@dataclass
class ClientState:
    """What this plugin created on the server for one client's EndDevice during one procedure."""

    fsas: dict[str, int] = field(default_factory=dict)  # annotation -> FSA index
    programs: dict[tuple[int, int], int] = field(default_factory=dict)  # (FSA, primacy) -> program index
    enrolled: bool = False
    scheduled_until: dict[int, int] = field(default_factory=dict)  # program -> end of its last scheduled control


class IdeaAdminPlugin:
    """Fulfils cactus-client admin instructions through the operator API of `idea serve sep2-server`."""

    def __init__(self) -> None:
        self.api: OperatorApi | None = None
        self.clients: dict[str, ClientState] = {}

    @hookimpl
    async def admin_setup(self, context: AdminContext) -> ActionResult:
        base = os.environ.get("IDEA_OPERATOR_API")
        if not base:
            return ActionResult.failed("IDEA_OPERATOR_API is not set (the server's operator API, http://HOST:PORT)")
        self.api = OperatorApi(base, os.environ.get("IDEA_OPERATOR_TOKEN"))
        self.clients = {}
        try:
            self.api.call("GET", "/")
        except OperatorError as exc:
            return ActionResult.failed(f"the operator API does not answer: {exc}")
        return ActionResult.done()

    @hookimpl
    async def admin_teardown(self, context: AdminContext) -> ActionResult:
        return ActionResult.done()

    @hookimpl
    async def admin_instruction(
        self, instruction: AdminInstruction, step: StepExecution, context: AdminContext
    ) -> ActionResult | None:
        if self.api is None:
            return ActionResult.failed("admin_setup did not run")
        client = self.client_of(instruction, context)
        parameters = await resolve_variable_expressions_from_parameters(client, instruction.parameters)
        instruction = replace(instruction, parameters=parameters)
        handler = HANDLERS.get(str(instruction.type))
        if handler is None:
            return None
        try:
            return handler(self, instruction.parameters, client, context)
        except OperatorError as exc:
            logger.error("%s: %s", instruction.type, exc)
            return ActionResult.failed(f"{instruction.type}: {exc}")

    @staticmethod
    def client_of(instruction: AdminInstruction, context: AdminContext) -> ClientConfig:
        if instruction.client is None:
            return next(iter(context.client_configs.values()))
        return context.client_configs[instruction.client]

    # --- the server's state, as this run made it ---------------------------------------------------------

    def operator(self) -> OperatorApi:
        assert self.api is not None  # nosec B101 - admin_instruction checks
        return self.api

    def state(self, client: ClientConfig) -> ClientState:
        return self.clients.setdefault(client.lfdi.upper(), ClientState())

    def fsa(self, client: ClientConfig, annotation: str | None) -> int:
        """The client's FSA with this annotation (its default one for None), created and assigned if new."""
        state = self.state(client)
        name = annotation or "default"
        if name not in state.fsas:
            created = self.operator().call("POST", "/fsas", {"description": name[:32]})
            state.fsas[name] = created["fsa"]
            if state.enrolled:
                self.assign(client)
        return state.fsas[name]

    def assign(self, client: ClientConfig) -> None:
        fsas = sorted(self.state(client).fsas.values())
        self.operator().call("PUT", f"/devices/{client.lfdi.upper()}/fsas", {"fsas": fsas})

    def program(self, client: ClientConfig, fsa: int, primacy: int) -> int:
        state = self.state(client)
        key = (fsa, primacy)
        if key not in state.programs:
            created = self.operator().call(
                "POST", "/programs", {"fsa": fsa, "program": {"primacy": primacy, "description": f"primacy {primacy}"}}
            )
            state.programs[key] = created["program"]
        return state.programs[key]

    def program_of_primacy(self, client: ClientConfig, primacy: int) -> int:
        """The client's program with this primacy in any of its FSAs, else a new one in its default FSA."""
        for (_, p), k in self.state(client).programs.items():
            if p == primacy:
                return k
        return self.program(client, self.fsa(client, None), primacy)

    # --- the instructions ----------------------------------------------------------------------------------

    def ensure_end_device(self, p: dict[str, Any], client: ClientConfig, context: AdminContext) -> ActionResult:
        lfdi = client.lfdi.upper()
        api = self.operator()
        state = self.state(client)
        aggregator = p.get("client_type", str(client.type)) == "aggregator"
        known = {d["lfdi"].upper() for d in api.call("GET", "/devices")["devices"]}
        if not p["registered"]:
            if lfdi in known:
                api.call("DELETE", f"/devices/{lfdi}")
            state.enrolled = False
            return ActionResult.done()
        if aggregator:
            api.call("POST", "/aggregators", {"lfdi": lfdi})
        if lfdi not in known:
            body: dict[str, Any] = {"lfdi": lfdi, "pin": client.pin, "fsas": sorted(state.fsas.values())}
            if aggregator:
                body["aggregator"] = lfdi
            api.call("POST", "/devices", body)
        state.enrolled = True
        return ActionResult.done()

    def ensure_mup_list_empty(self, p: dict[str, Any], client: ClientConfig, context: AdminContext) -> ActionResult:
        self.operator().call("POST", "/mirrors/clear", {"lfdi": client.lfdi.upper()})
        return ActionResult.done()

    def ensure_fsa(self, p: dict[str, Any], client: ClientConfig, context: AdminContext) -> ActionResult:
        fsa = self.fsa(client, p.get("annotation"))
        if p.get("primacy") is not None:
            self.program(client, fsa, int(p["primacy"]))
        return ActionResult.done()

    def ensure_der_program(self, p: dict[str, Any], client: ClientConfig, context: AdminContext) -> ActionResult:
        self.program(client, self.fsa(client, p.get("fsa_annotation")), int(p.get("primacy") or 1))
        return ActionResult.done()

    def ensure_der_control_list(
        self, p: dict[str, Any], client: ClientConfig, context: AdminContext
    ) -> ActionResult:
        # Every program's DERControlList is subscribable on this server; it exists once a program does.
        if not self.state(client).programs:
            self.program(client, self.fsa(client, None), 1)
        return ActionResult.done()

    def create_der_control(self, p: dict[str, Any], client: ClientConfig, context: AdminContext) -> ActionResult:
        program = self.program_of_primacy(client, int(p.get("primacy") or 1))
        state = self.state(client)
        now = int(time.time())
        duration = int(p.get("duration_seconds") or DEFAULT_DURATION_SECONDS)
        offset = p.get("start_offset_seconds")
        if p["status"] == "active":
            start = now - (int(offset) if offset is not None else 1)
        elif offset is not None:
            start = now + int(offset)
        else:
            # Scheduled controls stack one after another, never overlapping.
            start = max(now + DEFAULT_SCHEDULED_OFFSET_SECONDS, state.scheduled_until.get(program, 0) + 1)
        if p["status"] != "active":
            state.scheduled_until[program] = start + duration
        base = control_base(p)
        if not base:
            base = {"opModExpLimW": active_power(0)}
        control: dict[str, Any] = {
            "creationTime": now,
            "interval": {"start": start, "duration": duration},
            "DERControlBase": base,
            "description": f"harness {p['status']} control"[:32],
            # CSIP-AUS: a device answers every control (received, started, completed).
            "responseRequired": "03",
        }
        if p.get("randomizeStart_seconds") is not None:
            control["randomizeStart"] = int(p["randomizeStart_seconds"])
        self.operator().call("POST", f"/programs/{program}/controls", control)
        return ActionResult.done()

    def create_default_der_control(
        self, p: dict[str, Any], client: ClientConfig, context: AdminContext
    ) -> ActionResult:
        program = self.program_of_primacy(client, int(p.get("primacy") or 1))
        default: dict[str, Any] = {"DERControlBase": control_base(p)}
        if p.get("setGradW") is not None:
            default["setGradW"] = int(p["setGradW"])
        self.operator().call("PUT", f"/programs/{program}/default", default)
        return ActionResult.done()

    def clear_der_controls(self, p: dict[str, Any], client: ClientConfig, context: AdminContext) -> ActionResult:
        self.operator().call("POST", "/controls/cancel", {"all": bool(p.get("all", False))})
        self.state(client).scheduled_until.clear()
        return ActionResult.done()

    def set_poll_rate(self, p: dict[str, Any], client: ClientConfig, context: AdminContext) -> ActionResult:
        self.operator().call("PUT", "/poll-rate", {"resource": str(p["resource"]), "seconds": int(p["rate_seconds"])})
        return ActionResult.done()

    def set_post_rate(self, p: dict[str, Any], client: ClientConfig, context: AdminContext) -> ActionResult:
        self.operator().call("PUT", "/post-rate", {"seconds": int(p["rate_seconds"])})
        return ActionResult.done()

    def set_client_access(self, p: dict[str, Any], client: ClientConfig, context: AdminContext) -> ActionResult:
        lfdi = client.lfdi.upper()
        self.operator().call("POST", f"/devices/{lfdi}/access", {"granted": bool(p["granted"])})
        return ActionResult.done()


HANDLERS = {
    "ensure-end-device": IdeaAdminPlugin.ensure_end_device,
    "ensure-mup-list-empty": IdeaAdminPlugin.ensure_mup_list_empty,
    "ensure-fsa": IdeaAdminPlugin.ensure_fsa,
    "ensure-der-program": IdeaAdminPlugin.ensure_der_program,
    "ensure-der-control-list": IdeaAdminPlugin.ensure_der_control_list,
    "create-der-control": IdeaAdminPlugin.create_der_control,
    "create-default-der-control": IdeaAdminPlugin.create_default_der_control,
    "clear-der-controls": IdeaAdminPlugin.clear_der_controls,
    "set-poll-rate": IdeaAdminPlugin.set_poll_rate,
    "set-post-rate": IdeaAdminPlugin.set_post_rate,
    "set-client-access": IdeaAdminPlugin.set_client_access,
}
