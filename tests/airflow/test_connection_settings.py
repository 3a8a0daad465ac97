"""Connection extras that tune the triggerer's shared poller: validated before anything is read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import Connection

from airflow_provider_mediagen.hooks.connection import DEFAULT_READ_SHARE, settings_from_connection
from airflow_provider_mediagen.triggers.pollers import shared_poller

from .conftest import TIME_SCALE


def _conn(**extra: Any) -> Connection:
    return Connection(conn_id="mediagen_apex_tuned", conn_type="mediagen_apex", password="sk_live_demo",
                      extra=json.dumps(extra))


def test_read_share_defaults_to_eight_tenths_of_the_budget() -> None:
    assert settings_from_connection("apex", _conn()).read_share == DEFAULT_READ_SHARE == 0.8
    assert settings_from_connection("apex", _conn(read_share="0.9")).read_share == 0.9


@pytest.mark.parametrize("bad", [0, 1.5, -0.2, "lots", "nan", [0.5]])
def test_a_read_share_out_of_range_names_the_extra_and_the_rule(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"'mediagen_apex_tuned': extra read_share must be a number from 0.05 to 1.0"):
        settings_from_connection("apex", _conn(read_share=bad))


@pytest.mark.parametrize("bad", ["http://127.0.0.1:6379", "127.0.0.1:6379", "postgresql://db/x"])
def test_a_rate_limit_url_that_is_not_redis_names_the_extra(bad: str) -> None:
    with pytest.raises(ValueError, match=r"'mediagen_apex_tuned': extra rate_limit_url must be a Redis URL"):
        settings_from_connection("apex", _conn(rate_limit_url=bad))


def test_a_rate_limit_url_is_kept_as_a_secret() -> None:
    settings = settings_from_connection("apex", _conn(rate_limit_url="redis://:pw-for-redis@cache:6379/2"))
    assert settings.rate_limit_url is not None and settings.rate_limit_url.get().endswith("@cache:6379/2")
    assert "pw-for-redis" not in repr(settings)
    assert settings_from_connection("apex", _conn()).client_options()["rate_limit_url"] is None


async def test_the_shared_poller_spends_the_connections_share(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MEDIAGEN_APEX_HALF", json.dumps({
        "conn_type": "mediagen_apex", "password": "sk_live_demo", "host": simulator.urls["apex"],
        "extra": {"time_scale": TIME_SCALE, "read_share": 0.5}}))
    poller = await shared_poller("apex", "mediagen_apex_half")
    default = await shared_poller("apex", "mediagen_apex_default")
    assert (poller.read_share, default.read_share) == (0.5, 0.8)
    # Apex reads: 20 per 10 s, so one read every 0.5 s documented at full budget.
    assert poller._spacing == pytest.approx(0.5 * TIME_SCALE / 0.5)
    assert default._spacing == pytest.approx(0.5 * TIME_SCALE / 0.8)
