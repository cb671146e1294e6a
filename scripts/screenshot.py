#!/usr/bin/env python3
"""Makes docs/images/tictactoe.png, the README's picture: Channel Tac Toe in two headless
Chromium browsers (each its own profile, so its own cookies and user), a few moves into a game,
side by side.

Starts TicTacToe (TICTACTOE_BIN, default .build/debug/TicTacToe) on a free loopback port over a
temporary data folder, signs alice in as X and bob in as O through the invite link, plays four
moves by clicking, waits until both boards agree, takes each browser's view, and lays the two
out side by side in a third page that Chromium renders to the PNG (no imaging library needed).
Stops the browsers and the server, and removes the folder, whatever happens.

Needs chromium, chromium-driver and selenium (scripts/screenshot.sh installs them).
"""

import base64
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINARY = os.environ.get("TICTACTOE_BIN", str(ROOT / ".build/debug/TicTacToe"))
OUTPUT = pathlib.Path(os.environ.get("SCREENSHOT_OUT", ROOT / "docs/images/tictactoe.png"))
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")
VIEW = (520, 400)        # each browser's viewport, CSS pixels
MOVES = [4, 0, 2, 6]     # X, O, X, O: X to move next, O threatening the left column


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, what, seconds=15.0):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.05)


def browser():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-proxy-server", "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                 "--force-device-scale-factor=1"):
        options.add_argument(flag)
    if os.path.exists("/usr/bin/chromium"):
        options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    # The viewport itself, not the window around it, so both views have the same exact size.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": VIEW[0], "height": VIEW[1], "deviceScaleFactor": 1, "mobile": False})
    return driver


def sign_in(driver, url, email):
    driver.get(url)
    wait_for(lambda: "/_ah/login" in driver.current_url, "the login page")
    driver.find_element("id", "email").send_keys(email)
    driver.find_element("id", "submit-login").click()
    wait_for(lambda: "/_ah/login" not in driver.current_url, "the redirect back from the login page")
    wait_for(lambda: driver.execute_script("return window.channelOpens || 0;") >= 1, f"{email}'s channel to open")


def board(driver):
    return driver.execute_script(
        "return Array.from({length: 9}, (_, i) => document.getElementById(String(i)).textContent).join('');")


def composite(driver, views):
    """Both views side by side, each under its player's name, rendered by Chromium."""
    panels = "".join(
        f'<figure><figcaption>{caption}</figcaption>'
        f'<img width="{VIEW[0]}" height="{VIEW[1]}" src="data:image/png;base64,{base64.b64encode(png).decode()}"></figure>'
        for caption, png in views)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><style>
      body {{ margin: 0; background: #e9ecef; font: 14px Helvetica, Arial, sans-serif; }}
      #frame {{ display: inline-flex; gap: 16px; padding: 16px; background: #e9ecef; }}
      figure {{ margin: 0; background: white; border: 1px solid #adb5bd; border-radius: 6px; overflow: hidden; }}
      figcaption {{ padding: 6px 10px; background: #dee2e6; color: #212529; border-bottom: 1px solid #adb5bd; }}
      img {{ display: block; }}
    </style></head><body><div id="frame">{panels}</div></body></html>"""
    width, height = 2 * VIEW[0] + 3 * 16 + 4, VIEW[1] + 3 * 16 + 40
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    driver.get("data:text/html;base64," + base64.b64encode(page.encode()).decode())
    wait_for(lambda: driver.execute_script(
        "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0);"), "the composite's images")
    return driver.find_element("id", "frame").screenshot_as_png


def main():
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"screenshot: no TicTacToe binary at {BINARY} (swift build --product TicTacToe)")
    folder = tempfile.mkdtemp(prefix="courier-screenshot.")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([BINARY, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                               "--db", f"{folder}/games.sqlite", "--data-dir", folder],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    drivers = []
    try:
        def listening():
            if server.poll() is not None:
                raise RuntimeError(f"TicTacToe exited with {server.returncode}: {server.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_for(listening, f"TicTacToe to listen on {port}")

        alice = browser()
        drivers.append(alice)
        bob = browser()
        drivers.append(bob)
        sign_in(alice, base + "/", "alice@example.com")
        invite = alice.find_element("id", "invite-link").get_attribute("href")
        sign_in(bob, invite, "bob@example.com")
        wait_for(lambda: alice.find_element("id", "your-move").is_displayed(), "alice's board once bob joined")

        cells = [" "] * 9
        for turn, square in enumerate(MOVES):
            player = alice if turn % 2 == 0 else bob
            player.find_element("id", str(square)).click()
            cells[square] = "XO"[turn % 2]
            expected = "".join(cells)
            wait_for(lambda: board(alice) == board(bob) == expected, f"both boards to show {expected!r}")
        wait_for(lambda: alice.find_element("id", "your-move").is_displayed()
                 and bob.find_element("id", "their-move").is_displayed(), "the turn to pass to alice")

        views = [("alice@example.com (X), who started the game", alice.get_screenshot_as_png()),
                 ("bob@example.com (O), in another browser, through the invite link", bob.get_screenshot_as_png())]
        png = composite(alice, views)
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_bytes(png)
        print(f"screenshot: {OUTPUT.relative_to(ROOT) if OUTPUT.is_relative_to(ROOT) else OUTPUT} "
              f"({len(png) // 1024} KiB)")
    finally:
        for driver in drivers:
            try:
                driver.quit()
            except Exception:
                pass
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
