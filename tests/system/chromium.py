"""Headless Chromium (Debian's ``chromium``) checking that a page's media really load: a probe script,
added to a copy of the page, waits for every ``img`` to decode and every ``audio``/``video`` to read its
metadata (duration, size), writes the results into the DOM, and ``--dump-dom`` hands them back."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# Loopback only, shared by every test that starts Chromium: no background traffic, and nothing resolves
# but 127.0.0.1 (IP literals still work). Without the resolver rule, Chromium still looks up
# update.googleapis.com and clients2.google.com (in spite of the other flags) and probes IPv6
# reachability with a UDP socket to 2001:4860:4860::8888.
LOOPBACK_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                  "--disable-features=MediaRouter,OptimizationHints,Translate,AutofillServerCommunication,"
                  "CertificateTransparencyComponentUpdater,DialMediaRouteProvider",
                  "--no-pings", "--no-default-browser-check", "--metrics-recording-only",
                  "--disable-domain-reliability", "--disable-client-side-phishing-detection"]
# The gallery check: a file page whose media play without a user.
FLAGS = ["--headless", *LOOPBACK_FLAGS, "--allow-file-access-from-files",
         "--autoplay-policy=no-user-gesture-required", "--mute-audio"]

PROBE = """
<script>
(function () {
  function settle(el) {
    return new Promise(function (resolve) {
      var done = false;
      function finish(ok, why) { if (!done) { done = true; resolve({ok: ok, why: why}); } }
      if (el.tagName === "IMG") {
        if (el.complete) { finish(el.naturalWidth > 0, "complete"); return; }
        el.addEventListener("load", function () { finish(el.naturalWidth > 0, "load"); });
        el.addEventListener("error", function () { finish(false, "error"); });
        return;
      }
      if (el.readyState >= 1) { finish(el.duration > 0, "ready"); return; }
      el.addEventListener("loadedmetadata", function () { finish(el.duration > 0, "loadedmetadata"); });
      el.addEventListener("error", function () { finish(false, "error"); }, true);
      Array.prototype.forEach.call(el.querySelectorAll("source"), function (s) {
        s.addEventListener("error", function () { finish(false, "source error"); });
      });
      el.load();
    });
  }
  var els = Array.prototype.slice.call(document.querySelectorAll("img, audio, video"));
  Promise.all(els.map(function (el) {
    return settle(el).then(function (r) {
      return {tag: el.tagName.toLowerCase(), src: el.currentSrc || (el.querySelector("source") || {}).src || el.src,
              ok: r.ok, why: r.why, width: el.naturalWidth || el.videoWidth || 0, height: el.naturalHeight || el.videoHeight || 0,
              duration: isFinite(el.duration) ? el.duration : null, readyState: el.readyState === undefined ? null : el.readyState};
    });
  })).then(function (results) {
    var out = document.createElement("pre");
    out.id = "media-check";
    out.textContent = JSON.stringify(results);
    document.body.appendChild(out);
  });
})();
</script>
"""


def available() -> bool:
    return Path(CHROMIUM).is_file()


def check_media(page: Path, timeout: float = 120.0, budget_ms: int = 60_000) -> list[dict[str, Any]]:
    """Load ``page`` (a file) in headless Chromium; the media elements found and whether each loaded."""
    html = page.read_text(encoding="utf-8")
    probe_page = page.with_name(page.stem + ".media-check.html")  # beside it: relative media URLs still resolve
    probe_page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    profile = Path(tempfile.mkdtemp(prefix="mediagen-chromium-"))
    try:
        done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
                               "--dump-dom", probe_page.as_uri()],
                              capture_output=True, text=True, check=False, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        probe_page.unlink(missing_ok=True)
    found = re.search(r'<pre id="media-check">(.*?)</pre>', done.stdout, re.DOTALL)
    if not found:
        raise AssertionError(f"the probe wrote no result (exit {done.returncode}); stderr:\n{done.stderr[-3000:]}")
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))
