"""The demo's stand-ins for PagerDuty and an automation system, on 127.0.0.1.

POST /pagerduty     prints the Events API v2 event (trigger / resolve) and answers 202.
POST /restart-osd   prints the webhook event and restarts the OSD it names (the testbed's
                    ceph.sh start-osd, inside the OSD's pod), as a team's automation would on a
                    real cluster; prints the outcome.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Receiver(BaseHTTPRequestHandler):
    state_dir = ""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path == "/pagerduty":
            summary = (body.get("payload") or {}).get("summary", "")
            print(
                f"PAGERDUTY {body.get('event_action')} dedup_key={body.get('dedup_key')} {summary}",
                flush=True,
            )
            self._answer(202, {"status": "success", "dedup_key": body.get("dedup_key")})
        elif self.path == "/restart-osd":
            osd = str(body.get("osd", ""))
            print(
                f"AUTOMATION restart osd.{osd} (Idempotency-Key "
                f"{self.headers.get('Idempotency-Key')})",
                flush=True,
            )
            threading.Thread(target=self._restart, args=(osd,), daemon=True).start()
            self._answer(202, {"accepted": True})
        else:
            self._answer(404, {})

    def _restart(self, osd: str) -> None:
        # The OSD runs in a pod (Rook's layout); the testbed's start-osd lets the crashed ceph-osd
        # start again inside it and returns once the OSD is up in the OSD map.
        try:
            done = subprocess.run(
                [str(REPO / "hack/testbed/ceph.sh"), "start-osd", self.state_dir, osd],
                check=False,
                capture_output=True,
                text=True,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            print(f"AUTOMATION restart of osd.{osd} FAILED: no answer within 120 s", flush=True)
            return
        if done.returncode == 0:
            print(f"AUTOMATION osd.{osd} is up again", flush=True)
        else:
            print(f"AUTOMATION restart of osd.{osd} FAILED: {done.stderr.strip()}", flush=True)

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    Receiver.state_dir = sys.argv[2]
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()


if __name__ == "__main__":
    main()
