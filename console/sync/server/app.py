"""The reference cloud's HTTP layer (Starlette). Each endpoint parses, authenticates,
then runs the database work of books.py in a worker thread, one transaction per request.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime, timezone
from functools import wraps
from typing import Any, Awaitable, Callable, Sequence

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from console.domain.plates import PlateRules
from console.i18n import _, best_language, language
from console.store.engine import READ_ONLY
from console.sync import protocol as p
from console.sync.server import books, charge_cards, charge_changes, charge_phone, charge_proof, faults, phones, staff
from console.sync.server.books import Refused
from console.sync.server.notify import Notifier
from console.sync.server.provider import NotificationRefused, PaymentProvider, SimulatedProvider
from console.sync.server.ratelimit import RateLimiter, worth_recording

log = logging.getLogger("booth.cloud")

Handler = Callable[[Request], Awaitable[Response]]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _error(status: int, message: str, retry_after: int | None = None) -> JSONResponse:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="booth-cloud"'
    if status == 503:
        headers["Retry-After"] = "1"
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _endpoint(fn: Handler) -> Handler:
    @wraps(fn)
    async def wrapper(request: Request) -> Response:
        try:
            return await fn(request)
        except Refused as exc:
            return _error(exc.status, str(exc), exc.retry_after)
        except SQLAlchemyError as exc:
            # Busy or unreachable database: the client should come back shortly.
            log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
            return _error(503, "the cloud's database is busy; try again")
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return _error(500, "internal error")

    return wrapper


def create_app(
    engine: Engine,
    *,
    now: Callable[[], datetime] = _utcnow,
    max_body: int = p.MAX_BODY_BYTES,
    plate_regions: Sequence[str] | None = None,
    provider: PaymentProvider | None = None,
    limiter: RateLimiter | None = None,
    refusals: RateLimiter | None = None,
    notifier: Notifier | None = None,
    secure_cookie: bool = False,
) -> Starlette:
    """The cloud as an ASGI application over `engine` (tables must exist: open_cloud_db).
    `now` is the server's clock (its receive times never come from a booth).
    `plate_regions` limits the plates drivers may give (payment links) to those regions;
    None accepts a plate of any region. Raises ValueError for an unknown region.
    `provider` takes the drivers' payments (a SimulatedProvider unless told);
    `limiter` limits each client of the public pages and driver endpoints; `refusals`
    limits how many refused payment notifications a client may send (accepted ones
    are never limited: a provider's retries must get through). `notifier` delivers the
    fault notifications (woken when events arrive; the caller starts and stops it);
    `secure_cookie` marks people's session cookies HTTPS-only."""
    plates = PlateRules(plate_regions) if plate_regions is not None else p.WIRE_PLATES
    with engine.begin() as conn:
        charge_proof.rebook(conn)  # charging facts held from before this cloud booked them
    provider = provider or SimulatedProvider(now=now)
    limiter = limiter or RateLimiter()
    refusals = refusals or RateLimiter(rate=1.0, burst=20)

    def tx(work: Callable[[Any], Any]) -> Awaitable[Any]:
        def run() -> Any:
            with engine.begin() as conn:
                return work(conn)

        return run_in_threadpool(run)

    def read(work: Callable[[Any], Any]) -> Awaitable[Any]:
        """Like tx, for work that only reads: on SQLite it never takes the write lock, so
        it does not queue behind (or hold up) a batch being stored."""

        def run() -> Any:
            with engine.connect() as conn:
                conn = conn.execution_options(**{READ_ONLY: True})
                with conn.begin():
                    return work(conn)

        return run_in_threadpool(run)

    async def authenticate(request: Request) -> dict[str, Any]:
        scheme, _space, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Refused(401, "a site token is required (Authorization: Bearer <token>)")
        site = await read(lambda conn: books.site_for_token(conn, token))
        if site is None:
            raise Refused(401, "the token is not known")
        wanted = request.path_params.get("site_id")
        if wanted is not None and wanted != site["site_id"]:
            raise Refused(403, "this token belongs to another site")
        return site

    async def json_body(request: Request) -> Any:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            raise Refused(413, f"body larger than {max_body} bytes")
        chunks = bytearray()
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > max_body:
                raise Refused(413, f"body larger than {max_body} bytes")
        try:
            return json.loads(chunks)
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "the body is not JSON") from None

    # -- general ---------------------------------------------------------------------------
    @_endpoint
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "time": p.utc_text(now())})

    @_endpoint
    async def whoami(request: Request) -> Response:
        site = await authenticate(request)
        return JSONResponse({"site_id": site["site_id"], "name": site["name"]})

    # -- booth endpoints ------------------------------------------------------------------------
    @_endpoint
    async def post_events(request: Request) -> Response:
        site = await authenticate(request)
        data = await json_body(request)
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise Refused(422, "the body must be an object with a list `events`")
        events = data["events"]
        if len(events) > p.MAX_BATCH_EVENTS:
            raise Refused(413, f"at most {p.MAX_BATCH_EVENTS} events per batch")
        booth_id = str(data.get("booth_id") or "")[:32]
        sent_at = _optional_time(data.get("sent_at"))
        received_at = now()
        result = await tx(lambda conn: books.ingest(conn, site["site_id"], booth_id, sent_at, events, received_at))
        if notifier is not None and result.raised_faults:
            notifier.wake()  # a fault raised in this batch is announced at once
        return JSONResponse(result.to_json(received_at))

    @_endpoint
    async def put_occupancy(request: Request) -> Response:
        site = await authenticate(request)
        data = await json_body(request)
        try:
            snapshot = p.OccupancyIn.model_validate(data)
        except ValidationError as exc:
            raise Refused(422, f"malformed occupancy snapshot: {p.problems(exc)}") from None
        received_at = now()
        await tx(lambda conn: books.put_occupancy(conn, site["site_id"], snapshot, received_at))
        return JSONResponse({"received_at": p.utc_text(received_at)})

    @_endpoint
    async def get_document(request: Request) -> Response:
        site = await authenticate(request)
        kind = request.path_params["kind"]
        if kind not in p.DOCUMENT_KINDS:
            raise Refused(404, f"no endpoint {request.url.path}")
        found = await tx(lambda conn: books.get_document(conn, site["site_id"], kind))
        if found is None:
            raise Refused(404, f"no {kind} published for this site")
        etag, body = found
        if books.etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={"ETag": etag})
        return Response(body, media_type="application/json", headers={"ETag": etag, "Cache-Control": "no-cache"})

    @_endpoint
    async def remote_payments(request: Request) -> Response:
        site = await authenticate(request)
        after = request.query_params.get("after") or None
        limit = _int_param(request, "limit", 500, 1, 1000)
        page = await tx(lambda conn: books.remote_payments_page(conn, site["site_id"], after, limit))
        return JSONResponse(page)

    @_endpoint
    async def site_commands(request: Request) -> Response:
        """What the cloud asks the site's booths to do (closing maintenance records)."""
        site = await authenticate(request)
        after = request.query_params.get("after") or None
        limit = _int_param(request, "limit", 200, 1, 1000)

        def read(conn: Any) -> dict[str, Any]:
            try:
                return faults.commands_page(conn, site["site_id"], after, limit)
            except faults.FaultRefused as exc:
                raise Refused(exc.status, str(exc)) from None

        return JSONResponse(await tx(read))

    @_endpoint
    async def site_books(request: Request) -> Response:
        site = await authenticate(request)
        return JSONResponse(await tx(lambda conn: books.books(conn, site["site_id"])))

    # -- driver endpoints -----------------------------------------------------------------------
    @_endpoint
    async def sites_near(request: Request) -> Response:
        await limited(request)
        lat = _float_param(request, "lat", -90, 90)
        lon = _float_param(request, "lon", -180, 180)
        radius_km = _float_param(request, "radius_km", 0.01, 100, default=5.0)
        limit = _int_param(request, "limit", 20, 1, 100)
        at = now()
        found = await tx(lambda conn: books.sites_near(conn, lat, lon, radius_km * 1000, limit, at))
        return JSONResponse({"sites": found})

    async def limited(request: Request) -> None:
        """A public request takes a token from its client's bucket (429 without one)."""
        client = _client(request)
        wait = limiter.take(client)
        if wait > 0:
            denied = limiter.denied(client)
            if worth_recording(denied):
                at = now()
                detail = f"{request.method} {request.url.path} ({denied} refused in a row)"
                await tx(lambda conn: books.audit(conn, at, "rate_limited", client, detail))
            raise Refused(429, _("Too many requests; try again in {seconds} s.").format(seconds=math.ceil(wait)), retry_after=math.ceil(wait))

    @_endpoint
    async def create_link(request: Request) -> Response:
        await limited(request)
        data = await json_body(request)
        if isinstance(data, dict) and "amount_minor" in data:
            raise Refused(422, "amount_minor: the cloud quotes the fee itself; send site_id and plate")
        try:
            link = books.LinkIn.model_validate(data, context={"plates": plates})
        except ValidationError as exc:
            raise Refused(422, f"malformed payment link request: {p.problems(exc)}") from None
        created = await phones.start_order(tx, provider, link, now(), str(request.base_url))
        return JSONResponse(created, status_code=201, headers={"Location": f"{p.API}/driver/payment-links/{created['id']}"})

    @_endpoint
    async def get_link(request: Request) -> Response:
        await limited(request)
        link_id = request.path_params["link_id"]
        return JSONResponse(await tx(lambda conn: books.get_link(conn, link_id)))

    @_endpoint
    async def notify(request: Request) -> Response:
        """A payment provider's asynchronous notification (never a driver's word)."""
        name = request.path_params["provider"]
        body = await request.body()
        client = _client(request)
        at = now()
        if name != provider.name:
            await tx(lambda conn: books.refuse_notification(conn, name[:32], "unknown provider", body, client, at))
            raise Refused(404, "no such payment provider")
        try:
            note = provider.verify(request.headers, body, at)
        except NotificationRefused as exc:
            reason = str(exc)
            nonce = request.headers.get("x-sim-nonce")
            wait = refusals.take(client)
            if wait > 0:
                # A flood of forgeries: answered, and counted in the audit now and then
                # (1st, 10th, 100th... in a row), not one row each.
                denied = refusals.denied(client)
                if worth_recording(denied):
                    detail = f"POST {request.url.path}: refused notifications beyond the limit in a row: {denied}; the last: {reason}"
                    await tx(lambda conn: books.audit(conn, at, "notifications_limited", client, detail))
                raise Refused(429, "too many refused notifications; try again later", retry_after=math.ceil(wait)) from None
            await tx(lambda conn: books.refuse_notification(conn, provider.name, reason, body, client, at, nonce[:64] if nonce else None))
            log.warning("payment notification refused: %s", reason)
            raise Refused(401 if "signature" in reason or "unsigned" in reason else 400, f"notification refused: {reason}") from None
        outcome, reason = await tx(lambda conn: books.accept_notification(conn, provider.name, note, body, client, at))
        if outcome == "refused":
            log.warning("payment notification for %s refused: %s", note.order_id, reason)
            raise Refused(409, f"notification refused: {reason}")
        return JSONResponse({"outcome": outcome})

    @_endpoint
    async def put_tariff_versions(request: Request) -> Response:
        site = await authenticate(request)
        data = await json_body(request)
        try:
            doc = p.TariffVersionsIn.model_validate(data)
        except ValidationError as exc:
            raise Refused(422, f"malformed tariff versions: {p.problems(exc)}") from None
        at = now()
        fresh = await tx(lambda conn: books.store_tariff_versions(conn, site["site_id"], [(v.tariff_id, v.text) for v in doc.versions], at))
        return JSONResponse({"stored": fresh, "received_at": p.utc_text(at)})

    async def html(request: Request, render: Any) -> Response:
        """Run a page in the browser's language; refusals become a page, not JSON."""
        with language(best_language(request.headers.get("accept-language"))):
            try:
                await limited(request)
                return await render()
            except Refused as exc:
                headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
                return HTMLResponse(phones.error_text(exc), status_code=exc.status, headers=headers)
            except SQLAlchemyError as exc:
                log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
                return HTMLResponse(phones.error_text(Refused(503, _("The service is busy; try again in a moment."))), status_code=503)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return HTMLResponse(phones.error_text(Refused(500, _("Something went wrong on our side."))), status_code=500)

    ctx = phones.PageContext(tx=tx, now=now, plates=plates, provider=provider)

    async def page_lots(request: Request) -> Response:
        return await html(request, lambda: phones.lots(ctx, request))

    async def page_stay(request: Request) -> Response:
        return await html(request, lambda: phones.stay(ctx, request))

    async def page_pay(request: Request) -> Response:
        return await html(request, lambda: phones.pay(ctx, request))

    async def page_order(request: Request) -> Response:
        return await html(request, lambda: phones.order(ctx, request))

    async def page_receipt(request: Request) -> Response:
        return await html(request, lambda: phones.receipt(ctx, request))

    async def sim_checkout(request: Request) -> Response:
        return await html(request, lambda: phones.sim_checkout(ctx, request))

    async def sim_confirm(request: Request) -> Response:
        return await html(request, lambda: phones.sim_confirm(ctx, request))

    sctx = staff.StaffContext(tx=tx, now=now, secure_cookie=secure_cookie)

    def people_page(handler: Callable[[staff.StaffContext, Request], Awaitable[Response]]) -> Handler:
        async def render(request: Request) -> Response:
            try:
                return await handler(sctx, request)
            except Refused as exc:  # a refusal on the people's pages leads back to them
                return HTMLResponse(staff.error_page(exc.status, str(exc)), status_code=exc.status)

        async def run(request: Request) -> Response:
            return await html(request, lambda: render(request))

        return run

    routes = [
        Route(f"{p.API}/health", health, methods=["GET"]),
        Route(f"{p.API}/sites/{{site_id}}/commands", site_commands, methods=["GET"]),
        Route("/staff", people_page(staff.home), methods=["GET"]),
        Route("/staff/sign-in", people_page(staff.sign_in_page), methods=["GET"]),
        Route("/staff/sign-in", people_page(staff.sign_in), methods=["POST"]),
        Route("/staff/sign-out", people_page(staff.sign_out), methods=["POST"]),
        Route("/staff/rides", people_page(staff.rides), methods=["GET"]),
        Route("/staff/rides/{site_id}/{ride_id}", people_page(staff.ride), methods=["GET"]),
        Route("/staff/statement", people_page(staff.statement), methods=["GET"]),
        Route("/staff/audit", people_page(staff.audit), methods=["GET"]),
        Route("/staff/faults", people_page(staff.fault_list), methods=["GET"]),
        Route("/staff/faults/{site_id}/{fault_id}", people_page(staff.fault), methods=["GET"]),
        Route("/staff/faults/{site_id}/{fault_id}/close", people_page(staff.close_fault), methods=["POST"]),
        Route("/staff/charging", people_page(charge_cards.page), methods=["GET"]),
        Route("/staff/charging/block", people_page(charge_cards.block), methods=["POST"]),
        Route("/staff/charging/bind", people_page(charge_changes.bind_page), methods=["GET"]),
        Route("/staff/charging/bind", people_page(charge_changes.bind), methods=["POST"]),
        Route("/staff/charging/piles", people_page(charge_changes.piles_page), methods=["GET"]),
        Route("/staff/charging/piles", people_page(charge_changes.authorize), methods=["POST"]),
        Route("/staff/charging/change/{request_id}", people_page(charge_changes.change), methods=["GET"]),
        Route("/staff/charge/r/{request_id}", people_page(charge_phone.status), methods=["GET"]),
        Route("/staff/charge/r/{request_id}/stop", people_page(charge_phone.stop), methods=["POST"]),
        Route("/staff/charge/{site_id}/{pile}/{port}/problem", people_page(charge_phone.report_problem), methods=["POST"]),
        Route("/staff/charge/{site_id}/{pile}/{port}", people_page(charge_phone.start_page), methods=["GET"]),
        Route("/staff/charge/{site_id}/{pile}/{port}", people_page(charge_phone.start), methods=["POST"]),
        Route(f"{p.API}/whoami", whoami, methods=["GET"]),
        Route(f"{p.API}/sites/{{site_id}}/events", post_events, methods=["POST"]),
        Route(f"{p.API}/sites/{{site_id}}/occupancy", put_occupancy, methods=["PUT"]),
        Route(f"{p.API}/sites/{{site_id}}/remote-payments", remote_payments, methods=["GET"]),
        Route(f"{p.API}/sites/{{site_id}}/books", site_books, methods=["GET"]),
        Route(f"{p.API}/sites/{{site_id}}/{{kind:str}}", get_document, methods=["GET"]),
        Route(f"{p.API}/driver/sites", sites_near, methods=["GET"]),
        Route(f"{p.API}/driver/payment-links", create_link, methods=["POST"]),
        Route(f"{p.API}/driver/payment-links/{{link_id}}", get_link, methods=["GET"]),
        Route(f"{p.API}/sites/{{site_id}}/tariff-versions", put_tariff_versions, methods=["PUT"]),
        Route(f"{p.API}/payments/notify/{{provider}}", notify, methods=["POST"]),
        Route("/", page_lots, methods=["GET"]),
        Route("/pay", page_stay, methods=["GET"]),
        Route("/pay", page_pay, methods=["POST"]),
        Route("/pay/order/{link_id}", page_order, methods=["GET"]),
        Route("/e-receipt/{visit_id}", page_receipt, methods=["GET"]),
        Route("/sim-provider/checkout/{order_id}", sim_checkout, methods=["GET"]),
        Route("/sim-provider/checkout/{order_id}/pay", sim_confirm, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.provider = provider
    app.state.limiter = limiter
    return app


def _client(request: Request) -> str:
    """The client's address (the rate limit's key)."""
    return request.client.host if request.client else "unknown"


def _optional_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else None


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Refused(400, f"{name}: not a whole number") from None
    if not low <= value <= high:
        raise Refused(400, f"{name}: must be between {low} and {high}")
    return value


def _float_param(request: Request, name: str, low: float, high: float, default: float | None = None) -> float:
    text = request.query_params.get(name)
    if text is None:
        if default is None:
            raise Refused(400, f"{name} is required")
        return default
    try:
        value = float(text)
    except ValueError:
        raise Refused(400, f"{name}: not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Refused(400, f"{name}: must be between {low:g} and {high:g}")
    return value
