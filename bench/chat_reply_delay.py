"""How long a visitor waits to see a reply in the chat widget.

Real pieces end to end: gunicorn (production settings), the widget loader on a page of
another origin, the chat frame in headless Chromium. The owner's reply is committed to the
database from this process at a random moment; a MutationObserver inside the frame stamps
when the reply appears in the chat window. Both clocks are this machine's wall clock.
Figures are printed with the same run's baseline: the frame's poll interval and the time one
poll takes; nothing asserts a timing.

    python bench/chat_reply_delay.py [--replies 30] [--gunicorn-workers 2]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import BENCH_ENV, ROOT, figure, fresh_user, quiet, setup_django
from bench.slots_endpoint import FERNET_KEY, free_port
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.website import start_website

OPEN_POLL_MS = 1500  # static/js/chat-frame.js
OBSERVER = """() => {
  window.__seen = {};
  const stamp = () => document.querySelectorAll(".from-team .bubble").forEach((bubble) => {
    if (!(bubble.textContent in window.__seen)) window.__seen[bubble.textContent] = Date.now();
  });
  const messages = document.getElementById("messages");
  new MutationObserver(stamp).observe(messages, { childList: true, subtree: true });
}"""


def prepare(site_origin: str):
    from chat import services
    from chat.models import ChatProfile

    user = fresh_user("bench-chat@bench.example")
    account = user.account
    account.embed_origins = [site_origin]
    account.save()
    ChatProfile.objects.create(user=user, display_name="Bench owner")
    return user, services.widget_for(account)


def start_gunicorn(env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    """gunicorn with production settings (hashed static files), once it answers."""
    import requests

    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "scheduler.wsgi:application"]
    command += ["-b", f"127.0.0.1:{port}", "-w", str(workers), "--threads", "4"]
    server = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/robots.txt", timeout=5)
            return server, base
        except requests.RequestException:  # not listening yet, or still booting
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def poll_latency(base: str, key: str, visitor: str, count: int = 50) -> float:
    import requests

    session = requests.Session()
    session.headers["X-Chat-Visitor"] = visitor
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        session.get(f"{base}/chat/w/{key}/messages", params={"after": 0}, timeout=10)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=30)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls beside it are
    # still plain synchronous calls (as in tests/conftest.py).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    quiet()
    setup_django({"FIELD_ENCRYPTION_KEYS": FERNET_KEY})
    from chat import services
    from chat.models import Conversation

    site_root = Path(tempfile.mkdtemp(prefix="bench-site-"))
    website = start_website(site_root)
    user, widget = prepare(website.origin)
    env = {
        **os.environ,
        **BENCH_ENV,
        "FIELD_ENCRYPTION_KEYS": FERNET_KEY,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    server = None
    try:
        server, base = start_gunicorn(env, args.gunicorn_workers)
        base = base.replace("127.0.0.1", "localhost")  # another site than the website
        url = website.page(
            "index.html",
            f'<!DOCTYPE html><h1>Shop</h1><script src="{base}/chat/widget.js" '
            f'data-key="{widget.key}" async></script>',
        )
        print("gunicorn up; opening the widget in Chromium", file=sys.stderr)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.goto(url)
            page.get_by_role("button", name="Open chat").click()
            chat = page.frame_locator("iframe[title='Chat']")
            chat.get_by_label("Message").fill("Hello, is anyone there?")
            chat.get_by_role("button", name="Send").click()
            chat.locator(".from-visitor").wait_for()
            frame = next(f for f in page.frames if "/chat/w/" in f.url)
            frame.evaluate(OBSERVER)
            # The website's storage keeps the id (the frame's is blocked as third-party here).
            visitor = page.evaluate(f"localStorage.getItem('meetings-chat:{widget.key}')")
            conversation = Conversation.objects.get(account=widget.account)

            print("conversation open; replying", file=sys.stderr)
            rng, delays = random.Random(11), []
            for n in range(args.replies):
                # Replies land anywhere in the poll cycle: a pause spread over about two whole
                # cycles leaves the phase close to uniform (a shorter range would favour some).
                time.sleep(rng.uniform(0.1, 0.1 + 2 * (OPEN_POLL_MS + 50) / 1000))
                text = f"Reply number {n}"
                sent = time.time() * 1000
                services.post_reply(conversation, user, text)
                deadline = time.monotonic() + 30
                while (seen := frame.evaluate(f"window.__seen[{text!r}]")) is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{text!r} never showed up in the widget")
                    time.sleep(0.01)
                delays.append(seen - sent)
            browser.close()
        one_poll = poll_latency(base, widget.key, visitor)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        website.stop()

    delays.sort()
    print(
        f"Chat reply delay: {args.replies} replies committed at random moments, seen by the "
        f"widget (Chromium, gunicorn {args.gunicorn_workers} workers, page on another origin)"
    )
    figure("reply visible to the visitor, p50", statistics.median(delays), "ms")
    figure("reply visible to the visitor, p95", delays[int(len(delays) * 0.95) - 1], "ms")
    figure("reply visible to the visitor, max", delays[-1], "ms")
    figure("  baseline: the open widget's poll interval", OPEN_POLL_MS, "ms")
    figure("  baseline: one poll request (p50 of 50)", one_poll, "ms")


if __name__ == "__main__":
    main()
