"""The credits ledger benchmark (``benchmarks/ledger.py``) end to end on 2,000 task instances, on SQLite and
on a throwaway PostgreSQL: the sums the database makes (``json_each`` / ``jsonb_array_elements``) equal
the seeded figures and the sums made in Python, whatever the grouping, and the API server's route answers
the same (no timing assertions)."""

from __future__ import annotations

from benchmarks.ledger import DAGS, run_ledger
from benchmarks.run import _ledger_section, targets


def test_ledger_benchmark_figures_on_sqlite_and_postgresql() -> None:
    rows = run_ledger(2_000)
    assert [r["db"] for r in rows] == ["sqlite", "postgresql"]
    for r in rows:
        expected = r["expected"]
        assert {k: r["total"][k] for k in expected} == expected, r
        assert r["total"]["net"] == expected["charged"] - expected["refunded"]
        assert r["groups_agree"] and r["python_agrees"], r
        assert r["route_total"] == r["total"] and r["route_groups"] == DAGS, r
        assert 0 < r["jobs_1d"] < expected["jobs"], r
        # The Credits page's one pass: every grouping sums to the same total; the failed, refunded jobs listed.
        assert r["overview_total"] == r["total"] and r["overview_agrees"], r
        assert r["notable_jobs"] == r["notable_failed"] == expected["failed"], r
    # RESULTS.md's section and targets from these rows: one line per database, its figures as seeded.
    table = [line for line in _ledger_section(rows) if line.startswith(("| sqlite", "| postgresql"))]
    assert len(table) == 2 and all(line.endswith("| as seeded |") and line.count("|") == 10 for line in table), table
    assert sum("the Credits page's one pass" in line for line in targets({"ledger": rows})) == 2
