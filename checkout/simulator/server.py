"""A small Stripe-compatible server for development and tests (never for production).

It speaks enough of Stripe's API for the unchanged `stripe` SDK: Checkout Sessions (create,
retrieve, expire), payment intents, refunds; Stripe's JSON shapes, error format and
idempotency keys. It serves a hosted "checkout page" with Pay / Decline / Cancel buttons and
delivers webhook events signed exactly as Stripe signs them (`Stripe-Signature: t=…,v1=…`,
HMAC-SHA256 over "<t>.<body>"), retrying failed deliveries with exponential backoff.

Test switches (JSON over HTTP, or methods on the `Simulator` handle):
- `POST /_sim/config` `{"duplicate_deliveries": bool, "reverse_order": bool, "hold_webhooks": bool,
  "delay_seconds": float}`: deliver every event twice; queue events instead of sending them;
  send held events newest first; wait before each first delivery.
- `POST /_sim/release`: send the held events (newest first when reverse_order).
- `GET /_sim/events`: every event with its delivery attempts.
- `POST /_sim/sessions/<id>/complete` `{"outcome": "paid"|"async_success"|"async_fail"|"decline"}`:
  what the buttons of the hosted page do, for tests without a browser.
- `POST /_sim/reset`: forget everything.

No Django here: it runs standalone (`python -m checkout.simulator`) and in-process in tests.
"""

import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger("stripe_simulator")

API_VERSION = "2026-10-28.endive"
MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 60 * 60


def new_id(prefix: str) -> str:
    return f"{prefix}_sim{secrets.token_hex(12)}"


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, type_="invalid_request_error", code=None, param=None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def decode_form(body: str) -> dict:
    """Stripe's nested form encoding (`a[b][0][c]=x`) back into dicts and lists."""
    root: dict = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})

    def listify(node):
        if isinstance(node, dict):
            node = {k: listify(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return listify(root)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class Config:
    duplicate_deliveries: bool = False
    reverse_order: bool = False
    hold_webhooks: bool = False
    delay_seconds: float = 0.0
    async_delay_seconds: float = 2.0
    api_outage: bool = False  # every API call answers 503, as during a Stripe incident


@dataclass
class Delivery:
    event_id: str
    attempt: int = 0
    due: float = 0.0


@dataclass
class State:
    sessions: dict = field(default_factory=dict)
    payment_intents: dict = field(default_factory=dict)
    charges: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)  # id -> {"event": ..., "attempts": [...]}
    event_order: list = field(default_factory=list)
    idempotency: dict = field(default_factory=dict)
    held: list = field(default_factory=list)


class Simulator:
    """The server and its state; `start()` runs it in daemon threads."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 12111,
        webhook_url: str = "",
        webhook_secret: str = "whsec_simulator",  # noqa: S107 - the simulator's public test secret
        public_url: str = "",
        retry_base_seconds: float = 2.0,
        max_attempts: int = 8,
    ):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.retry_base_seconds = retry_base_seconds
        self.max_attempts = max_attempts
        self.config = Config()
        self.state = State()
        self.lock = threading.RLock()
        self.wakeup = threading.Condition(self.lock)
        self.queue: list[Delivery] = []
        self.stopping = False
        handler = type("Handler", (_Handler,), {"sim": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.public_url = (public_url or self.url).rstrip("/")
        self._threads: list[threading.Thread] = []

    # --- lifecycle ---
    def start(self) -> "Simulator":
        for target in (self.httpd.serve_forever, self._deliver_loop, self._expiry_loop):
            thread = threading.Thread(target=target, daemon=True, name=f"stripe-sim-{target.__name__}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            self.wakeup.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- test switches ---
    def configure(self, **values) -> dict:
        with self.lock:
            for key, value in values.items():
                if not hasattr(self.config, key):
                    raise StripeError(400, f"unknown simulator setting {key!r}")
                setattr(self.config, key, type(getattr(self.config, key))(value))
            return dict(self.config.__dict__)

    def release(self) -> int:
        with self.lock:
            held = list(reversed(self.state.held)) if self.config.reverse_order else list(self.state.held)
            self.state.held.clear()
            for event_id in held:
                self._enqueue(event_id, hold=False)
            return len(held)

    def events(self) -> list[dict]:
        with self.lock:
            return [json.loads(json.dumps(self.state.events[i])) for i in self.state.event_order]

    def refunds(self) -> list[dict]:
        with self.lock:
            return [dict(r) for r in self.state.refunds.values()]

    def complete(self, session_id: str, outcome: str = "paid") -> dict:
        with self.lock:
            return self._complete(session_id, outcome)

    def reset(self) -> None:
        with self.lock:
            self.state = State()
            self.queue.clear()
            self.config = Config(async_delay_seconds=self.config.async_delay_seconds)

    def resend(self, event_id: str) -> None:
        """Deliver an event again, as Stripe does now and then."""
        with self.lock:
            self._enqueue(event_id, hold=False)

    # --- API operations (called with the lock held) ---
    def _now(self) -> int:
        return int(time.time())

    def _session(self, session_id: str) -> dict:
        session = self.state.sessions.get(session_id)
        if session is None:
            raise StripeError(
                404, f"No such checkout.session: '{session_id}'", code="resource_missing", param="session"
            )
        self._lapse_if_due(session)
        return session

    def create_session(self, params: dict) -> dict:
        if params.get("mode", "payment") != "payment":
            raise StripeError(400, "Only mode=payment is simulated.", param="mode")
        items = params.get("line_items") or []
        if not items:
            raise StripeError(400, "line_items is required in payment mode.", param="line_items")
        now = self._now()
        expires_at = int(params.get("expires_at") or now + MAX_EXPIRY)
        if not now + MIN_EXPIRY - 5 <= expires_at <= now + MAX_EXPIRY + 5:
            raise StripeError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
                param="expires_at",
            )
        for field_name in ("success_url",):
            if not params.get(field_name):
                raise StripeError(400, f"Missing required param: {field_name}.", param=field_name)
        line_items, total, currency = [], 0, None
        for index, item in enumerate(items):
            price = item.get("price_data") or {}
            try:
                amount, quantity = int(price["unit_amount"]), int(item.get("quantity", 1))
            except (KeyError, ValueError):
                raise StripeError(
                    400, "Each line item needs price_data[unit_amount].", param=f"line_items[{index}]"
                ) from None
            currency = currency or price.get("currency", "eur").lower()
            name = (price.get("product_data") or {}).get("name", "Item")
            line_items.append(
                {
                    "description": name,
                    "quantity": quantity,
                    "amount_total": amount * quantity,
                    "price": {"unit_amount": amount, "currency": currency},
                }
            )
            total += amount * quantity
        session_id = new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_subtotal": total,
            "amount_total": total,
            "currency": currency,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "customer_email": params.get("customer_email"),
            "customer_details": {"email": params.get("customer_email")}
            if params.get("customer_email")
            else None,
            "created": now,
            "expires_at": expires_at,
            "livemode": False,
            "payment_intent": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.public_url}/pay/{session_id}",
            "_line_items": line_items,
        }
        self.state.sessions[session_id] = session
        return session

    def expire_session(self, session_id: str) -> dict:
        session = self._session(session_id)
        if session["status"] != "open":
            raise StripeError(
                400,
                f"Only Checkout Sessions with a status of `open` can be expired. This session has a status of `{session['status']}`.",
                code="checkout_session_not_expirable" if session["status"] == "complete" else None,
            )
        self._expire(session)
        return session

    def _expire(self, session: dict) -> None:
        session["status"] = "expired"
        session["url"] = None
        self._emit("checkout.session.expired", session)

    def _lapse_if_due(self, session: dict) -> None:
        if session["status"] == "open" and session["expires_at"] <= self._now():
            self._expire(session)

    def _complete(self, session_id: str, outcome: str) -> dict:
        session = self._session(session_id)
        if session["status"] != "open":
            raise StripeError(400, f"This Checkout Session is {session['status']}.", code="session_not_open")
        if outcome == "decline":
            return {"declined": True, "session": session}
        if outcome not in ("paid", "async_success", "async_fail"):
            raise StripeError(400, f"unknown outcome {outcome!r}")
        intent = {
            "id": new_id("pi"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"] if outcome == "paid" else 0,
            "currency": session["currency"],
            "status": "succeeded" if outcome == "paid" else "processing",
            "latest_charge": None,
            "metadata": dict(session["metadata"]),
            "created": self._now(),
            "livemode": False,
        }
        self.state.payment_intents[intent["id"]] = intent
        session["payment_intent"] = intent["id"]
        session["status"] = "complete"
        session["url"] = None
        if outcome == "paid":
            self._charge(intent)
            session["payment_status"] = "paid"
        self._emit("checkout.session.completed", session)
        if outcome != "paid":
            timer = threading.Timer(
                self.config.async_delay_seconds, self._settle_async, args=(session_id, outcome)
            )
            timer.daemon = True
            timer.start()
        return session

    def _charge(self, intent: dict) -> dict:
        charge = {
            "id": new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "paid": True,
            "refunded": False,
            "status": "succeeded",
            "created": self._now(),
        }
        self.state.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        return charge

    def _settle_async(self, session_id: str, outcome: str) -> None:
        with self.lock:
            session = self.state.sessions.get(session_id)
            if session is None:
                return
            intent = self.state.payment_intents[session["payment_intent"]]
            if outcome == "async_success":
                self._charge(intent)
                session["payment_status"] = "paid"
                self._emit("checkout.session.async_payment_succeeded", session)
            else:
                intent["status"] = "requires_payment_method"
                self._emit("checkout.session.async_payment_failed", session)

    def create_refund(self, params: dict) -> dict:
        intent_id = params.get("payment_intent")
        charge_id = params.get("charge")
        if intent_id:
            intent = self.state.payment_intents.get(intent_id)
            if intent is None:
                raise StripeError(
                    404,
                    f"No such payment_intent: '{intent_id}'",
                    code="resource_missing",
                    param="payment_intent",
                )
            charge_id = intent["latest_charge"]
        if not charge_id or charge_id not in self.state.charges:
            raise StripeError(
                400, "This PaymentIntent has no successful charge to refund.", param="payment_intent"
            )
        charge = self.state.charges[charge_id]
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise StripeError(
                400, f"Charge {charge_id} has already been refunded.", code="charge_already_refunded"
            )
        amount = int(params.get("amount") or remaining)
        if amount > remaining:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                code="amount_too_large",
                param="amount",
            )
        refund = {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge_id,
            "payment_intent": charge["payment_intent"],
            "reason": params.get("reason"),
            "metadata": params.get("metadata") or {},
            "status": "succeeded",
            "created": self._now(),
        }
        self.state.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge)
        return refund

    # --- events and delivery ---
    def _emit(self, event_type: str, obj: dict) -> dict:
        snapshot = {k: v for k, v in obj.items() if not k.startswith("_")}
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self._now(),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "data": {"object": json.loads(json.dumps(snapshot))},
        }
        self.state.events[event["id"]] = {"event": event, "attempts": []}
        self.state.event_order.append(event["id"])
        self._enqueue(event["id"], hold=self.config.hold_webhooks)
        if self.config.duplicate_deliveries:
            self._enqueue(event["id"], hold=self.config.hold_webhooks)
        return event

    def _enqueue(self, event_id: str, *, hold: bool) -> None:
        if hold:
            self.state.held.append(event_id)
            return
        self.queue.append(Delivery(event_id, 0, time.monotonic() + self.config.delay_seconds))
        self.wakeup.notify_all()

    def _deliver_loop(self) -> None:
        while True:
            with self.lock:
                while not self.stopping:
                    now = time.monotonic()
                    due = [d for d in self.queue if d.due <= now]
                    if due:
                        delivery = min(due, key=lambda d: d.due)
                        self.queue.remove(delivery)
                        break
                    timeout = min((d.due for d in self.queue), default=now + 1) - now
                    self.wakeup.wait(max(0.01, min(timeout, 1)))
                if self.stopping:
                    return
                event = self.state.events[delivery.event_id]["event"]
            status = self._post(event)
            with self.lock:
                self.state.events[delivery.event_id]["attempts"].append(
                    {"at": time.time(), "status": status, "attempt": delivery.attempt + 1}
                )
                if not (isinstance(status, int) and 200 <= status < 300):
                    if delivery.attempt + 1 < self.max_attempts:
                        delivery.attempt += 1
                        delivery.due = time.monotonic() + self.retry_base_seconds * 2 ** (
                            delivery.attempt - 1
                        )
                        self.queue.append(delivery)
                    else:
                        logger.warning(
                            "giving up on %s after %d attempts", delivery.event_id, delivery.attempt + 1
                        )

    def _post(self, event: dict) -> int | str:
        if not self.webhook_url:
            return "no webhook url"
        payload = json.dumps(event).encode()
        request = urllib.request.Request(  # noqa: S310 - http(s) URL from our own config
            self.webhook_url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(payload, self.webhook_secret),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - configured URL
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError as exc:
            return f"error: {exc.__class__.__name__}"

    def _expiry_loop(self) -> None:
        while not self.stopping:
            time.sleep(1)
            with self.lock:
                for session in list(self.state.sessions.values()):
                    self._lapse_if_due(session)


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    server_version = "StripeSimulator/1.0"

    def log_message(self, format, *args):
        logger.debug("%s %s", self.address_string(), format % args)

    # --- plumbing ---
    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def _send(self, status: int, body, *, content_type="application/json", headers=None) -> None:
        raw = (
            body
            if isinstance(body, bytes)
            else (json.dumps(body) if content_type == "application/json" else body).encode()
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Request-Id", new_id("req"))
        self.send_header("Stripe-Version", API_VERSION)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _public(self, obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path, query = parsed.path.rstrip("/"), dict(urllib.parse.parse_qsl(parsed.query))
        try:
            if path.startswith("/v1/"):
                self._api(method, path, query)
            elif path.startswith("/pay/"):
                self._page(method, path.removeprefix("/pay/"))
            elif path.startswith("/_sim"):
                self._control(method, path, query)
            else:
                raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")
        except StripeError as exc:
            self._send(exc.status, exc.body)

    # --- the API ---
    def _api(self, method: str, path: str, query: dict) -> None:
        auth = self.headers.get("Authorization", "")
        if not re.fullmatch(r"Bearer (sk|rk)_(test|live)_\S+", auth):
            raise StripeError(401, "Invalid API Key provided.", type_="invalid_request_error")
        if self.sim.config.api_outage:
            raise StripeError(503, "Stripe is temporarily unavailable (simulated outage).", type_="api_error")
        body = self._body() if method == "POST" else ""
        params = decode_form(body)
        key = self.headers.get("Idempotency-Key")
        sim = self.sim
        with sim.lock:
            if key and method == "POST":
                fingerprint = hashlib.sha256(f"{path}?{body}".encode()).hexdigest()
                stored = sim.state.idempotency.get(key)
                if stored is not None:
                    if stored[0] != fingerprint:
                        raise StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                            type_="idempotency_error",
                        )
                    self._send(
                        stored[1], stored[2], headers={"Idempotent-Replayed": "true", "Idempotency-Key": key}
                    )
                    return
            try:
                status, result = 200, self._route(method, path, params, query)
            except StripeError as exc:
                if not key:
                    raise
                status, result = exc.status, exc.body
            if key and method == "POST":
                sim.state.idempotency[key] = (fingerprint, status, result)
        headers = {"Idempotency-Key": key} if key else {}
        self._send(status, result, headers=headers)

    def _route(self, method: str, path: str, params: dict, query: dict) -> dict:
        sim = self.sim
        parts = path.split("/")[2:]
        if parts == ["checkout", "sessions"] and method == "POST":
            return self._public(sim.create_session(params))
        if parts == ["checkout", "sessions"] and method == "GET":
            data = [
                self._public(s)
                for s in sim.state.sessions.values()
                if not query.get("payment_intent") or s["payment_intent"] == query["payment_intent"]
            ]
            return {"object": "list", "data": data, "has_more": False, "url": "/v1/checkout/sessions"}
        if len(parts) == 3 and parts[:2] == ["checkout", "sessions"] and method == "GET":
            return self._public(sim._session(parts[2]))
        if (
            len(parts) == 4
            and parts[:2] == ["checkout", "sessions"]
            and parts[3] == "expire"
            and method == "POST"
        ):
            return self._public(sim.expire_session(parts[2]))
        if len(parts) == 2 and parts[0] == "payment_intents" and method == "GET":
            intent = sim.state.payment_intents.get(parts[1])
            if intent is None:
                raise StripeError(404, f"No such payment_intent: '{parts[1]}'", code="resource_missing")
            return dict(intent)
        if parts == ["refunds"] and method == "POST":
            return sim.create_refund(params)
        if parts == ["refunds"] and method == "GET":
            data = [
                r
                for r in sim.state.refunds.values()
                if not query.get("payment_intent") or r["payment_intent"] == query["payment_intent"]
            ]
            return {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        if len(parts) == 2 and parts[0] == "refunds" and method == "GET":
            refund = sim.state.refunds.get(parts[1])
            if refund is None:
                raise StripeError(404, f"No such refund: '{parts[1]}'", code="resource_missing")
            return dict(refund)
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    # --- the hosted checkout page ---
    def _page(self, method: str, session_id: str) -> None:
        sim = self.sim
        with sim.lock:
            session = sim._session(session_id)
            if method == "POST":
                action = urllib.parse.parse_qs(self._body()).get("action", [""])[0]
                if action == "cancel":
                    self._redirect(session["cancel_url"] or "/")
                    return
                outcome = {
                    "pay": "paid",
                    "async_success": "async_success",
                    "async_fail": "async_fail",
                    "decline": "decline",
                }.get(action)
                if outcome is None:
                    raise StripeError(400, "unknown action")
                if session["status"] == "open":
                    result = sim._complete(session_id, outcome)
                    if outcome != "decline":
                        self._redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
                        return
                    declined = bool(result.get("declined"))
                else:
                    declined = False
            else:
                declined = False
            self._send(200, _page_html(session, declined), content_type="text/html; charset=utf-8")

    # --- test switches ---
    def _control(self, method: str, path: str, query: dict) -> None:
        sim = self.sim
        body = json.loads(self._body() or "{}") if method == "POST" else {}
        if path == "/_sim/config" and method == "POST":
            self._send(200, sim.configure(**body))
        elif path == "/_sim/release" and method == "POST":
            self._send(200, {"released": sim.release()})
        elif path == "/_sim/events":
            self._send(200, {"data": sim.events()})
        elif path == "/_sim/reset" and method == "POST":
            sim.reset()
            self._send(200, {"reset": True})
        elif (m := re.fullmatch(r"/_sim/sessions/([\w]+)/complete", path)) and method == "POST":
            result = sim.complete(m.group(1), body.get("outcome", "paid"))
            self._send(200, {k: v for k, v in result.items() if not k.startswith("_")})
        else:
            raise StripeError(404, f"no simulator control at {path}")


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:.2f} {currency.upper()}"


def _link_back(url: str, text: str) -> str:
    if not url.startswith(("http://", "https://")):
        return ""
    return f'<p><a class="back" href="{html.escape(url, quote=True)}">{text}</a></p>'


def _page_html(session: dict, declined: bool) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(i['description'])}</td><td>{i['quantity']}</td>"
        f"<td>{_money(i['amount_total'], session['currency'])}</td></tr>"
        for i in session["_line_items"]
    )
    if session["status"] == "open":
        buttons = """
        <form method="post">
          <button name="action" value="pay" class="primary">Pay</button>
          <button name="action" value="async_success">Pay by bank transfer (succeeds later)</button>
          <button name="action" value="async_fail">Pay by bank transfer (fails later)</button>
          <button name="action" value="decline">Decline</button>
          <button name="action" value="cancel">Cancel</button>
        </form>"""
    elif session["status"] == "complete":
        buttons = "<p role='status'>This checkout session has already been paid.</p>" + _link_back(
            (session.get("success_url") or "").replace("{CHECKOUT_SESSION_ID}", session["id"]),
            "Back to your booking",
        )
    else:
        # The buyer's hold ran out while this page was open: the way back is the shop's
        # cancel_url (SeatLock's sends them to the showtime), never a dead end.
        buttons = "<p role='status'>This checkout session has expired.</p>" + _link_back(
            session.get("cancel_url") or "", "Back to the shop"
        )
    notice = "<p role='alert' class='error'>Your card was declined.</p>" if declined else ""
    email = html.escape(session.get("customer_email") or "")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stripe simulator · Checkout</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}}
table{{width:100%;border-collapse:collapse}}td,th{{padding:.3rem;border-bottom:1px solid #ddd;text-align:left}}
button{{display:block;width:100%;margin:.4rem 0;padding:.6rem;font-size:1rem}}.primary{{background:#635bff;color:#fff;border:0}}
.error{{color:#b00020;font-weight:bold}}.banner{{background:#fff3cd;padding:.5rem;border-radius:.3rem}}</style></head>
<body><p class="banner">Stripe <strong>simulator</strong>: no real money moves.</p>
<h1>Pay SeatLock</h1><p>{email}</p>
<table><thead><tr><th>Item</th><th>Qty</th><th>Amount</th></tr></thead><tbody>{rows}</tbody></table>
<p><strong>Total: {_money(session["amount_total"], session["currency"])}</strong></p>
{notice}{buttons}</body></html>"""


def start_simulator(**kwargs) -> Simulator:
    """Start a simulator in daemon threads (port=0 picks a free port); stop it with .stop()."""
    kwargs.setdefault("port", 0)
    return Simulator(**kwargs).start()
