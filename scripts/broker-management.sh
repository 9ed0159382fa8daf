#!/usr/bin/env bash
# The local RabbitMQ's management API, which the suite makes and deletes its vhost per test through:
# it answers in milliseconds where each rabbitmqctl call costs about 0.6 s of CPU (a third of the
# suite's time). Enables the plugin once when it is off; without it the suite still runs, slower.
set -euo pipefail

api="${RABBITMQ_API:-http://127.0.0.1:15672}"
answers() {
  python3 - "$api" <<'PY'
import base64, sys, urllib.request
request = urllib.request.Request(sys.argv[1].rstrip("/") + "/api/whoami",
                                 headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
try:
    urllib.request.urlopen(request, timeout=2).close()
except Exception:
    sys.exit(1)
PY
}

answers && exit 0
if ! command -v rabbitmq-plugins >/dev/null 2>&1; then
  echo "No management API at $api and no rabbitmq-plugins here: the suite uses rabbitmqctl (slower)." >&2
  exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  else
    echo "The suite runs faster with the broker's management API; enable it once as root:" >&2
    echo "  sudo rabbitmq-plugins enable rabbitmq_management" >&2
    exit 0
  fi
fi
echo "Enabling the local RabbitMQ's management plugin (the suite's vhosts are made through it)"
"${as_root[@]}" rabbitmq-plugins enable rabbitmq_management >/dev/null
for _ in $(seq 60); do
  answers && exit 0
  sleep 0.5
done
echo "The management plugin is enabled but $api does not answer yet: the suite uses rabbitmqctl." >&2
