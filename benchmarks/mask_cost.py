"""What one connection lookup costs in Airflow's secret masker as connections accumulate in a process.

``aget_connection`` masks each connection's password and extra; ``SecretsMasker.add_mask`` then
recompiles one regex of every secret masked so far, so the n-th lookup costs O(n) and n lookups O(n^2).
This is Airflow's (3.3.2), not the provider's; it bounds how many distinct connections one triggerer
can take on. Run: ``.venv/bin/python -m benchmarks.mask_cost [connections]`` (default 1,000).
"""

from __future__ import annotations

import json
import secrets
import sys
import time


def main(argv: list[str]) -> int:
    from airflow.sdk.log import mask_secret

    total = int(argv[0]) if argv else 1_000
    marks = {1, 10, 100, 250, 500, 750, 1_000, 1_500, 2_000, total}
    started = time.perf_counter()
    print("connections | this lookup's masking ms | all masking so far s")
    for i in range(1, total + 1):
        t0 = time.perf_counter()
        # What _amask_connection_secrets masks for one connection: its password and its extra.
        mask_secret("fdb_" + secrets.token_hex(16))
        mask_secret(json.dumps({"time_scale": 0.05, "jwt": secrets.token_hex(16)}))
        if i in marks:
            print(f"{i:,} | {(time.perf_counter() - t0) * 1000:.1f} | {time.perf_counter() - started:.1f}", flush=True)
    # Every log record is then redacted with that regex too.
    from airflow.sdk._shared.secrets_masker import redact

    line = "apex video job 7f3c2a1b-0d4e-4f5a-9b6c-1234567890ab: processing (12 s), no change"
    t0 = time.perf_counter()
    for _ in range(100):
        redact(line)
    print(f"redacting one {len(line)}-character log line after {total:,} connections: "
          f"{(time.perf_counter() - t0) * 10:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
