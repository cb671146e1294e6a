"""Channel Tac Toe (`TICTACTOE_BIN`, default `.build/debug/TicTacToe`) played by two independent
headless Chromium sessions: each signs in with its own email on the login page, X creates a game,
O opens the invite link, and they play by clicking cells. After every move both pages must show
the same board within one second, with the right status element visible. Then a second game to a
draw, a reload mid-game, and a server restart mid-game that both pages survive on their own.
"""

import os
import signal
import socket
import subprocess
import time

import pytest

from browser import chromium, wait_for

TICTACTOE_BIN = os.environ.get("TICTACTOE_BIN", ".build/debug/TicTacToe")
STARTUP_SECONDS = 10
MOVE_SECONDS = 1.0  # the acceptance: both boards agree within one second of a move
RECONNECT_SECONDS = 30  # after a restart: the channel client's backoff, then a fresh token
STATUSES = ("other-player", "your-move", "their-move", "you-won", "you-lost", "draw")
GREEN, RED, WHITE = "rgb(0, 128, 0)", "rgb(255, 0, 0)", "rgb(255, 255, 255)"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """The TicTacToe binary on a fixed port over a database and secrets in `folder`."""

    def __init__(self, folder):
        if not os.access(TICTACTOE_BIN, os.X_OK):
            raise RuntimeError(f"no TicTacToe binary at {TICTACTOE_BIN} (swift build --product TicTacToe)")
        self.folder = folder
        self.port = _free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [TICTACTOE_BIN, "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
             "--db", str(self.folder / "games.sqlite"), "--data-dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"TicTacToe exited with {self.process.returncode}: "
                                   f"{self.process.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError(f"TicTacToe did not listen on {self.port} within {STARTUP_SECONDS}s")
                time.sleep(0.05)

    def stop(self):
        if self.process.poll() is not None:
            pytest.fail(f"TicTacToe died (exit {self.process.returncode}): "
                        f"{self.process.stderr.read().decode(errors='replace')}")
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            pytest.fail("TicTacToe did not exit within 15s of SIGTERM")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def browsers():
    """Two independent browsers: separate profiles, so separate cookies."""
    first = chromium()
    try:
        second = chromium()
        try:
            yield first, second
        finally:
            second.quit()
    finally:
        first.quit()


def sign_in(browser, url, email):
    """Opens `url`, which sends a signed-out browser to the login page, and signs in."""
    browser.get(url)
    assert "/_ah/login" in browser.current_url
    browser.find_element("id", "email").send_keys(email)
    browser.find_element("id", "submit-login").click()
    wait_for(lambda: "/_ah/login" not in browser.current_url, "the redirect back from the login page")
    wait_for_channel(browser, opens=1)


def channel_opens(browser):
    return browser.execute_script("return window.channelOpens || 0;")


def wait_for_channel(browser, opens, seconds=10.0):
    wait_for(lambda: channel_opens(browser) >= opens, f"the page's channel to open ({opens})", seconds)


def board(browser):
    return browser.execute_script(
        "return Array.from({length: 9}, (_, i) => document.getElementById(String(i)).textContent).join('');")


def visible_status(browser):
    shown = [name for name in STATUSES if browser.find_element("id", name).is_displayed()]
    assert len(shown) == 1, f"exactly one status element is shown, not {shown}"
    return shown[0]


def backgrounds(browser):
    return browser.execute_script(
        "return Array.from({length: 9}, (_, i) => getComputedStyle(document.getElementById(String(i))).backgroundColor);")


class Game:
    def __init__(self, x, o):
        self.x, self.o = x, o
        self.cells = [" "] * 9
        self.turn = "X"

    def move(self, square, x_status, o_status, seconds=MOVE_SECONDS):
        """Clicks `square` in the page whose turn it is; both pages must agree within `seconds`."""
        mover = self.x if self.turn == "X" else self.o
        mover.find_element("id", str(square)).click()
        self.cells[square] = self.turn
        self.turn = "O" if self.turn == "X" else "X"
        expected = "".join(self.cells)
        deadline = time.monotonic() + seconds
        while True:
            seen = (board(self.x), board(self.o))
            if seen == (expected, expected):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"after the click on {square}, boards were X:{seen[0]!r} O:{seen[1]!r}, "
                            f"not {expected!r}, {seconds}s later")
            time.sleep(0.01)
        assert (visible_status(self.x), visible_status(self.o)) == (x_status, o_status), f"after {square}"

    def play(self, squares, final=None):
        """Plays alternating moves; the statuses alternate until the last, which gives `final`."""
        for index, square in enumerate(squares):
            last = index == len(squares) - 1
            if last and final:
                self.move(square, *final)
            elif self.turn == "X":
                self.move(square, "their-move", "your-move")
            else:
                self.move(square, "your-move", "their-move")


def start_game(server, x, o, sign_in_first=True):
    """X opens `/` (a new game), O opens the invite link; returns the Game."""
    if sign_in_first:
        sign_in(x, server.base + "/", "alice@example.com")
    else:
        x.get(server.base + "/")
        wait_for_channel(x, opens=1)
    assert visible_status(x) == "other-player"
    assert not x.find_element("id", "board").is_displayed()
    invite = x.find_element("id", "invite-link").get_attribute("href")
    assert invite.startswith(server.base + "/?g=")
    if sign_in_first:
        sign_in(o, invite, "bob@example.com")
    else:
        o.get(invite)
        wait_for_channel(o, opens=1)
    # X's page learns that O joined over its channel, with no reload.
    wait_for(lambda: visible_status(x) == "your-move", "X's page to show the board once O joined", MOVE_SECONDS * 3)
    assert visible_status(o) == "their-move"
    assert board(x) == board(o) == " " * 9
    return Game(x, o)


def test_two_browsers_play_to_a_win_then_a_draw(server, browsers):
    x, o = browsers
    game = start_game(server, x, o)
    # X: 0, 4, 8 (the diagonal); O: 1, 2.
    game.play([0, 1, 4, 2, 8], final=("you-won", "you-lost"))
    for page, winner_colour in ((x, GREEN), (o, RED)):
        colours = backgrounds(page)
        assert [colours[i] for i in (0, 4, 8)] == [winner_colour] * 3
        assert all(colours[i] == WHITE for i in (1, 2, 3, 5, 6, 7))
    # A click after the win does nothing.
    o.find_element("id", "3").click()
    time.sleep(0.5)
    assert board(x) == board(o) == "".join(game.cells)

    # Second game: X starts again (a new game replaces X's last), O follows the invite link.
    game = start_game(server, x, o, sign_in_first=False)
    game.play([0, 1, 2, 4, 3, 5, 7, 6, 8], final=("draw", "draw"))
    assert all(colour == WHITE for colour in backgrounds(x))


def test_reload_and_restart_mid_game(server, browsers):
    x, o = browsers
    game = start_game(server, x, o)
    game.play([4, 0])

    # A reload restores the board and the game goes on.
    o.refresh()
    wait_for_channel(o, opens=1)
    assert board(o) == "O   X    "
    assert visible_status(o) == "their-move"
    game.play([8])

    # The server restarts: the board comes back from SQLite, both pages reconnect by themselves
    # (their channel closes, they fetch a fresh token and reopen), and the game can be finished.
    before = (channel_opens(x), channel_opens(o))
    server.stop()
    server.start()
    wait_for_channel(x, opens=before[0] + 1, seconds=RECONNECT_SECONDS)
    wait_for_channel(o, opens=before[1] + 1, seconds=RECONNECT_SECONDS)
    assert board(x) == board(o) == "O   X   X"
    # O 1, X 2, O 3, X 6: X wins on the 2-4-6 diagonal.
    game.play([1, 2, 3, 6], final=("you-won", "you-lost"))
    assert board(x) == board(o) == "OOXOX X X"


def test_two_tabs_of_one_player_do_not_fight_over_the_channel(server, browsers):
    # CHANNEL_API.md 4: a second connection for the same client ID replaces the first, which gets
    # 409 and "does not reconnect (two tabs must not fight)". The page must not reopen either.
    x, o = browsers
    game = start_game(server, x, o)
    game.play([4])
    first = x.current_window_handle
    game_url = x.find_element("id", "this-game").find_element("tag name", "a").get_attribute("href")
    x.switch_to.new_window("tab")
    x.get(game_url)
    wait_for_channel(x, opens=1)
    second = x.current_window_handle
    x.switch_to.window(first)
    wait_for(lambda: "another tab" in x.find_element("id", "connection").text, "the first tab to say it was replaced")
    time.sleep(3)  # long enough for several reopen attempts, had the page made them
    assert channel_opens(x) == 1
    x.switch_to.window(second)
    assert channel_opens(x) == 1
    assert x.find_element("id", "connection").text == ""
    # The tab that has the channel plays on: O's move reaches it.
    game.x = x
    game.move(0, "your-move", "their-move")


def test_a_third_visitor_has_no_turn(server, browsers):
    # CHANNEL_API.md 6: "a click sends a move only on your turn": a signed-in visitor who is
    # neither X nor O never has one, on O's turn or on X's. (As in the original, the game's
    # updates go to its two players only, so the visitor's page shows the game as it loaded.)
    x, o = browsers
    game = start_game(server, x, o)
    game.play([4])
    invite = server.base + "/?g=" + x.execute_script("return state.game_key;")
    third = chromium()
    try:
        sign_in(third, invite, "carol@example.com")
        for expected_board in ("    X    ", "O   X    "):
            assert board(third) == expected_board
            assert visible_status(third) == "their-move"
            assert third.execute_script("return isMyMove();") is False
            third.find_element("id", "8").click()
            time.sleep(0.5)
            assert board(x) == board(o) == expected_board, "the visitor's click moved"
            if expected_board == "    X    ":
                game.move(0, "your-move", "their-move")
                third.refresh()
                wait_for_channel(third, opens=1)
    finally:
        third.quit()
