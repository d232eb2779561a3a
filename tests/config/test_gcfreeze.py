"""config/gcfreeze.py: a server process's long-lived objects are frozen out of the collector's
full passes when the application loads and again after its first requests. Each case runs
in a fresh interpreter: freezing is for a whole process, and this one is pytest's."""

import json
import subprocess
import sys

import pytest

from tests.config.test_outage import BASE_DIR, database_url, django_env

# Loads the application as a server does, then serves requests through Django's handler
# (request_finished fires as under granian or gunicorn) and reports the collector's state.
PROBE = """
import gc, json, sys
import config.wsgi
from django.test import Client

def state():
    return {"frozen": gc.get_freeze_count(), "walked": len(gc.get_objects())}

loaded = state()
client = Client()
served = []
for _ in range(int(sys.argv[1])):
    assert client.get("/healthz", HTTP_HOST="127.0.0.1").status_code in (200, 503)
    served.append(state())
print(json.dumps({"loaded": loaded, "served": served}))
"""


def probe(tmp_path, requests: int, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(requests)],
        cwd=BASE_DIR,
        env=django_env(database_url(), tmp_path, LOG_LEVEL="WARNING", **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_the_loaded_application_is_frozen_and_frozen_again_after_its_first_requests(tmp_path):
    state = probe(tmp_path, 6, GC_FREEZE_AFTER_REQUESTS="5")
    loaded, served = state["loaded"], state["served"]
    # Every view is imported and frozen: a full pass walks a small part of what the process holds.
    assert loaded["frozen"] > 20 * loaded["walked"] > 0
    # What the first requests loaded is walked until the 5th request's end freezes it; the 6th
    # request's objects are walked again. (A frozen object can still die: the frozen count
    # only falls between freezes.)
    before, at, after = served[3], served[4], served[5]
    assert before["walked"] > 10 * at["walked"]
    assert at["frozen"] - before["frozen"] > before["walked"] / 2
    assert before["frozen"] <= loaded["frozen"] and after["frozen"] <= at["frozen"]
    assert after["walked"] > at["walked"]


@pytest.mark.django_db
def test_gc_freeze_0_leaves_the_collector_as_cpython_has_it(tmp_path):
    state = probe(tmp_path, 3, GC_FREEZE="0", GC_FREEZE_AFTER_REQUESTS="2")
    assert state["loaded"]["frozen"] == 0
    assert [s["frozen"] for s in state["served"]] == [0, 0, 0]


@pytest.mark.django_db
def test_gc_freeze_after_requests_0_freezes_only_the_loaded_application(tmp_path):
    state = probe(tmp_path, 3, GC_FREEZE_AFTER_REQUESTS="0")
    frozen = [state["loaded"]["frozen"]] + [s["frozen"] for s in state["served"]]
    assert frozen[0] > 0 and frozen == sorted(frozen, reverse=True)  # never frozen again
    assert state["served"][-1]["walked"] > state["served"][0]["walked"]
