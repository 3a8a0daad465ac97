"""Services are discovered: the package's own modules, then entry points of other distributions
(``tests/fourth`` proves a whole service that way). A clash or a wrong object is refused loudly,
naming where each one came from, never resolved by silently keeping one of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import airflow_provider_mediagen.catalog as catalog
from airflow_provider_mediagen import discovery
from airflow_provider_mediagen.simulator import registry


@dataclass
class FakeEntryPoint:
    name: str
    value: str
    loaded: Any

    def load(self) -> Any:
        return self.loaded


def _entry_points(*found: FakeEntryPoint) -> Any:
    return lambda group: list(found)


def test_the_package_modules_are_found_in_listing_order() -> None:
    assert list(catalog._discover()) == list(catalog.SERVICES) == ["ddukddak", "apex", "facedub"]
    assert list(registry.registered.__wrapped__()) == ["ddukddak", "apex", "facedub"]


def test_a_service_registered_twice_is_an_error_naming_both(monkeypatch: pytest.MonkeyPatch) -> None:
    clash = FakeEntryPoint("apex", "someone_else:SERVICE", catalog.SERVICES["apex"])
    monkeypatch.setattr(discovery, "entry_points", _entry_points(clash))
    with pytest.raises(ValueError, match=r"two services named 'apex': .*catalog\.apex and entry point apex"):
        catalog._discover()
    sim_clash = FakeEntryPoint("apex", "someone_else:SIMULATED", registry.registered()["apex"])
    monkeypatch.setattr(discovery, "entry_points", _entry_points(sim_clash))
    with pytest.raises(ValueError, match="two simulated services named 'apex'"):
        registry.registered.__wrapped__()


def test_an_entry_point_that_is_not_a_service_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "entry_points", _entry_points(FakeEntryPoint("x", "mod:thing", object())))
    with pytest.raises(TypeError, match="entry point x = mod:thing .* is not a catalog Service"):
        catalog._discover()
    monkeypatch.setattr(discovery, "entry_points", _entry_points(FakeEntryPoint("x", "mod:thing", "nope")))
    with pytest.raises(TypeError, match="is not a simulator registration"):
        registry.registered.__wrapped__()
