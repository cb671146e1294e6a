"""Headless Chromium for the interop tests, and a polling wait: shared by every browser test."""

import os
import shutil
import time

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMEDRIVER = os.environ.get("CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")
SCRIPT_TIMEOUT = 20


def chromium(home=None):
    """A new headless Chromium with its own profile (so its own cookies). `home`, when given, is
    its HOME: the NSS database in `home/.pki/nssdb` says which certificate authorities it trusts."""
    if not os.access(CHROMEDRIVER, os.X_OK):
        pytest.fail(f"no chromedriver at {CHROMEDRIVER} (install chromium-driver)")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-proxy-server", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    if os.path.exists("/usr/bin/chromium"):
        options.binary_location = "/usr/bin/chromium"
    service = Service(CHROMEDRIVER, env=dict(os.environ, HOME=home)) if home else Service(CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(SCRIPT_TIMEOUT)
    driver.set_script_timeout(SCRIPT_TIMEOUT)
    return driver


def wait_for(condition, what, seconds=10.0, interval=0.02):
    """Polls `condition` until it returns something true (and returns that), or fails the test."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds}s waiting for {what}")
        time.sleep(interval)
