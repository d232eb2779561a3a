"""Viewers who keep a seat map open: each polls the seat-map partial every few seconds with the
ETag it last got, as htmx does. One process, one event loop, raw sockets on loopback.

    python -m bench.watchers --port 8765 --showtime 1 --viewers 1000 --every 3 --seconds 60

Runs until SIGTERM (or --seconds), then prints one JSON line. Latency is counted from the
moment a poll was due, not from when it could be sent (no coordinated omission): a server that
falls behind shows it in the percentiles instead of silently polling less.

Each viewer first opens the map (a full render, which carries the cursor, as the page does),
spread over --warmup seconds and not counted: people waiting for a premiere open the page
before the sale, then their browser polls "with their version" (issue #13). When every viewer
has its first map, --ready-file is created, and only the polls after it are measured.
"""

import argparse
import asyncio
import gzip
import json
import random
import re
import resource
import signal
import time
import urllib.parse

from bench.client import percentile

# The page's poll sends the cursor of its last answer (`<input id="seat-cursor" name="since">`)
# and gets only the seats changed since: the viewers do what the browser does.
CURSOR = re.compile(rb'id="seat-cursor" name="since" value="([^"]*)"')


async def _poll(
    host: str, port: int, path: str, etag: str | None, timeout: float, cursor: str | None = None
) -> tuple[int, str | None, int, str | None]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        target = f"{path}?since={urllib.parse.quote(cursor)}" if cursor else path
        head = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nHX-Request: true\r\nConnection: close\r\n"
        head += "Accept-Encoding: gzip\r\n"  # as every browser
        if etag:
            head += f"If-None-Match: {etag}\r\n"
        writer.write((head + "\r\n").encode())
        data = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
    header_block, _, body = data.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    new_etag = etag
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "etag":
            new_etag = value.strip()
        elif name.lower() == "content-encoding" and value.strip() == "gzip":
            body = gzip.decompress(body)
    found = CURSOR.search(body)
    return status, new_etag, len(body), found.group(1).decode() if found else cursor


async def main(args: argparse.Namespace) -> dict:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop_started = time.monotonic()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.call_later(args.seconds, stop.set)
    path = f"/showtimes/{args.showtime}/seats/"
    due_latency: list[float] = []
    service: list[float] = []
    statuses: dict[str, int] = {}
    errors = [0]
    dumped: list[tuple[float, float, int]] = []

    loaded = [0]
    ready = asyncio.Event()
    warm_errors = [0]

    async def viewer(n: int) -> None:
        etag = cursor = None
        rng = random.Random(n)
        await asyncio.sleep(rng.uniform(0, args.warmup))
        while cursor is None and not stop.is_set():
            try:
                _status, etag, _size, cursor = await _poll(args.host, args.port, path, None, args.timeout)
            except (TimeoutError, OSError, ValueError, IndexError):
                warm_errors[0] += 1
                await asyncio.sleep(1)
        loaded[0] += 1
        if loaded[0] == args.viewers:
            ready.set()
        await ready.wait()
        due = time.monotonic() + rng.uniform(0, args.every)
        while not stop.is_set():
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if stop.is_set():
                break
            sent = time.monotonic()
            try:
                status, etag, _size, cursor = await _poll(
                    args.host, args.port, path, etag, args.timeout, cursor
                )
            except (TimeoutError, OSError, ValueError, IndexError):
                errors[0] += 1
                status = 0
            done = time.monotonic()
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            service.append(done - sent)
            due_latency.append(done - due)
            if args.dump:
                dumped.append((round(sent - loop_started, 3), round((done - sent) * 1000, 1), status))
            due = max(due + args.every, done)

    # The viewers' own event loop, checked: a loop that falls behind (one process for all the
    # viewers, on the machine it measures) would add its lag to every latency it reports.
    lags: list[float] = []

    async def loop_lag() -> None:
        await ready.wait()
        while not stop.is_set():
            asked = time.monotonic()
            await asyncio.sleep(0.05)
            lags.append(time.monotonic() - asked - 0.05)

    tasks = [asyncio.create_task(viewer(n)) for n in range(args.viewers)]
    tasks.append(asyncio.create_task(loop_lag()))
    await asyncio.wait(
        [asyncio.create_task(ready.wait()), asyncio.create_task(stop.wait())],
        return_when=asyncio.FIRST_COMPLETED,
    )
    warm_seconds = time.monotonic() - loop_started
    started = time.monotonic()
    if args.ready_file:
        with open(args.ready_file, "w") as ready_file:
            ready_file.write(f"{warm_seconds:.2f}\n")
    await stop.wait()
    # The rate over the measured window: polls still in flight after the stop are waited for
    # (their latency counts) but neither they nor the wait make the window longer.
    wall = time.monotonic() - started
    polls_in_window = len(service)
    await asyncio.wait(tasks, timeout=args.timeout + 1)
    for task in tasks:
        task.cancel()
    if args.dump:
        with open(args.dump, "w") as dump:
            json.dump(dumped, dump)
    return {
        "viewers": args.viewers,
        "every": args.every,
        "warmup_seconds": warm_seconds,
        "warmup_errors": warm_errors[0],
        "seconds": wall,
        "polls": len(service),
        "polls_per_s": polls_in_window / wall,
        "target_per_s": args.viewers / args.every,
        "p50": percentile(service, 50),
        "p99": percentile(service, 99),
        "p99_from_due": percentile(due_latency, 99),
        "statuses": statuses,
        "errors": errors[0],
        "loop_lag_p99": percentile(lags, 99),
        "loop_lag_max": max(lags) * 1000 if lags else None,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--showtime", type=int, required=True)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--every", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds over which viewers open the map")
    parser.add_argument("--ready-file", default="", help="created when every viewer has its first map")
    parser.add_argument("--dump", default="", help="write every poll (sent at s, ms, status) to this file")
    arguments = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, arguments.viewers + 256)), hard))
    print("JSON " + json.dumps(asyncio.run(main(arguments))), flush=True)
