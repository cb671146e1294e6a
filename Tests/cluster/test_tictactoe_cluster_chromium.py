"""Channel Tac Toe across two nodes: two `TicTacToe --redis ... --db <shared> --data-dir <shared>`
processes behind nginx (round robin, no stickiness), played by two headless Chromium sessions
whose channels are on different nodes. The node holding X's channel is SIGKILLed mid-game: X's
page reconnects by itself (through nginx, to the other node), and the game is finished on both
boards.

Which node serves a page's channel is read from the WebSocket handshake as Chromium received it
(its performance log): nginx names the upstream in an `X-Upstream` header.
"""

import json
import os
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from browser import CHROMEDRIVER, SCRIPT_TIMEOUT, wait_for
from cluster import TICTACTOE_BIN, tictactoe_node

MOVE_SECONDS = 3.0  # both boards agree this soon after a click (across nodes, through Redis)
RECONNECT_SECONDS = 30
STATUSES = ("other-player", "your-move", "their-move", "you-won", "you-lost", "draw")


def chromium():
    """Headless Chromium as browser.py makes it, with the network events kept in its log."""
    if not os.access(CHROMEDRIVER, os.X_OK):
        pytest.fail(f"no chromedriver at {CHROMEDRIVER} (install chromium-driver)")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-proxy-server", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    if os.path.exists("/usr/bin/chromium"):
        options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(SCRIPT_TIMEOUT)
    driver.set_script_timeout(SCRIPT_TIMEOUT)
    driver.handshakes = []  # X-Upstream of every WebSocket handshake the page completed, in order
    return driver


def handshakes(driver):
    """The upstream of every WebSocket handshake so far (Chromium hands its log out once)."""
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.webSocketHandshakeResponseReceived":
            headers = {k.lower(): v for k, v in message["params"]["response"].get("headers", {}).items()}
            driver.handshakes.append(headers.get("x-upstream", "?").split(",")[-1].strip())
    return driver.handshakes


@pytest.fixture
def tictactoe_cluster(make_cluster):
    if not os.access(TICTACTOE_BIN, os.X_OK):
        pytest.fail(f"no TicTacToe binary at {TICTACTOE_BIN} (swift build --product TicTacToe, or set TICTACTOE_BIN)")

    def node(cluster, name):
        return tictactoe_node(name, cluster.folder, cluster.redis, cluster.data_dir,
                              os.path.join(cluster.data_dir, "games.sqlite"))

    return make_cluster(2, make_node=node)


@pytest.fixture
def browsers():
    first = chromium()
    try:
        second = chromium()
        try:
            yield first, second
        finally:
            second.quit()
    finally:
        first.quit()


def channel_opens(browser):
    return browser.execute_script("return window.channelOpens || 0;")


def wait_for_channel(browser, opens, seconds=15.0):
    wait_for(lambda: channel_opens(browser) >= opens, f"the page's channel to open ({opens})", seconds)


def sign_in(browser, url, email):
    browser.get(url)
    assert "/_ah/login" in browser.current_url
    browser.find_element("id", "email").send_keys(email)
    browser.find_element("id", "submit-login").click()
    wait_for(lambda: "/_ah/login" not in browser.current_url, "the redirect back from the login page")
    wait_for_channel(browser, opens=1)


def board(browser):
    return browser.execute_script(
        "return Array.from({length: 9}, (_, i) => document.getElementById(String(i)).textContent).join('');")


def visible_status(browser):
    shown = [name for name in STATUSES if browser.find_element("id", name).is_displayed()]
    assert len(shown) == 1, f"exactly one status element is shown, not {shown}"
    return shown[0]


class Game:
    def __init__(self, x, o):
        self.x, self.o = x, o
        self.cells = [" "] * 9
        self.turn = "X"

    def move(self, square, statuses):
        mover = self.x if self.turn == "X" else self.o
        mover.find_element("id", str(square)).click()
        self.cells[square] = self.turn
        self.turn = "O" if self.turn == "X" else "X"
        expected = "".join(self.cells)
        deadline = time.monotonic() + MOVE_SECONDS
        while (board(self.x), board(self.o)) != (expected, expected):
            if time.monotonic() > deadline:
                pytest.fail(f"after the click on {square}, boards were X:{board(self.x)!r} O:{board(self.o)!r}, "
                            f"not {expected!r}, {MOVE_SECONDS}s later")
            time.sleep(0.02)
        wait_for(lambda: (visible_status(self.x), visible_status(self.o)) == statuses,
                 f"the statuses {statuses} after {square}", MOVE_SECONDS)

    def play(self, squares, final=None):
        for index, square in enumerate(squares):
            if final and index == len(squares) - 1:
                self.move(square, final)
            elif self.turn == "X":
                self.move(square, ("their-move", "your-move"))
            else:
                self.move(square, ("your-move", "their-move"))


def test_a_game_across_two_nodes_survives_one_being_killed(tictactoe_cluster, browsers):
    cluster = tictactoe_cluster
    base = cluster.nginx.base
    x, o = browsers
    sign_in(x, base + "/", "alice@example.com")
    assert visible_status(x) == "other-player"
    invite = x.find_element("id", "invite-link").get_attribute("href")
    assert invite.startswith(base + "/?g="), invite
    sign_in(o, invite, "bob@example.com")
    wait_for(lambda: visible_status(x) == "your-move", "X's page to show the board once O joined", MOVE_SECONDS)

    # The two channels on different nodes: while they share one, O's page is reloaded, one more
    # request to nginx in between so the round robin cannot keep landing it on the same node.
    for attempt in range(8):
        x_node, o_node = handshakes(x)[-1], handshakes(o)[-1]
        if x_node != o_node:
            break
        with urllib.request.urlopen(base + "/_ah/channel/jsapi", timeout=5) as response:
            response.read()
        opened = len(handshakes(o))
        o.refresh()
        wait_for(lambda: len(handshakes(o)) > opened, "O's channel after a reload", 15)
        wait_for_channel(o, opens=1)
    assert x_node != o_node, f"the pages' channels stayed on one node: X {x.handshakes} O {o.handshakes}"
    assert {cluster.node_at(x_node), cluster.node_at(o_node)} == set(cluster.nodes), (x_node, o_node)
    wait_for(lambda: visible_status(o) == "their-move", "O's page ready", MOVE_SECONDS)

    game = Game(x, o)
    game.play([4, 0])  # X 4, O 0

    victim = cluster.node_at(x_node)
    survivor = cluster.node_at(o_node)
    seen = len(handshakes(x))
    victim.kill()
    # X's page notices, reconnects by itself through nginx, and lands on the surviving node.
    wait_for(lambda: len(handshakes(x)) > seen and x.handshakes[-1] == survivor.address,
             "X's channel on the surviving node", RECONNECT_SECONDS)
    assert handshakes(o)[-1] == survivor.address and len(o.handshakes) >= 1
    # O 1, X 2 ... as in the interop game: X wins on the 2-4-6 diagonal.
    game.play([8, 1, 2, 3, 6], final=("you-won", "you-lost"))
    assert board(x) == board(o) == "OOXOX X X"
    print(f"X's channel on {victim.name} (killed), O's on {survivor.name}; X's handshakes {x.handshakes}, "
          f"O's {o.handshakes}; channel opens X {channel_opens(x)} O {channel_opens(o)}")
