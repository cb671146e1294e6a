"""A real browser's multipart/form-data upload: headless Chromium fills the Echo example's form at
/upload (a text field and a file input taking several files), submits it, and reads back what the
server parsed: the field, and each file's name, type, size and SHA-256. The files' names are
non-ASCII and one holds a `"`, which Chromium writes as `%22` in the part's headers."""

import hashlib
import json

from selenium.webdriver.common.by import By

from browser import chromium, wait_for


def _submit(port, title, paths):
    """Fills and submits the form in a fresh Chromium; returns the server's echo as a dict."""
    driver = chromium()
    try:
        driver.get(f"http://127.0.0.1:{port}/upload")
        driver.find_element(By.NAME, "title").send_keys(title)
        if paths:
            driver.find_element(By.NAME, "upload").send_keys("\n".join(str(path) for path in paths))
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        result = wait_for(lambda: driver.find_elements(By.ID, "result"), "the echo page after submitting")
        return json.loads(result[0].text)
    finally:
        driver.quit()


def test_chromium_uploads_files_with_non_ascii_names_and_a_text_field(echo_port, tmp_path):
    # 300 KB: far more than one read, so the body arrives in many pieces.
    binary = bytes((i * 7919 + 13) % 256 for i in range(300_000))
    big = tmp_path / "naïve résumé ✓ 日本.bin"
    big.write_bytes(binary)
    # Text whose lines look like the start of a boundary, and a name with a quote in it.
    text = b"line one\r\n--\r\n------WebKitFormBoundary\r\nlast line without newline"
    quoted = tmp_path / 'say "hi".txt'
    quoted.write_bytes(text)

    echoed = _submit(echo_port, "Grüße ✓ & <b>", [big, quoted])

    assert echoed["title"] == "Grüße ✓ & <b>"
    assert echoed["fields"] == {"title": "Grüße ✓ & <b>"}
    files = echoed["files"]
    assert [f["filename"] for f in files] == [big.name, quoted.name]
    assert [f["field"] for f in files] == ["upload", "upload"]
    assert files[0]["size"] == len(binary)
    assert files[0]["sha256"] == hashlib.sha256(binary).hexdigest()
    assert files[0]["type"] == "application/octet-stream"
    assert files[1]["size"] == len(text)
    assert files[1]["sha256"] == hashlib.sha256(text).hexdigest()
    assert files[1]["type"] == "text/plain"


def test_chromium_submitting_no_file_gives_an_empty_field(echo_port):
    echoed = _submit(echo_port, "no file", [])
    assert echoed["title"] == "no file"
    assert echoed["files"] == []
    # The empty file input is sent as a part with filename="": an empty field, as webob made it.
    assert echoed["fields"] == {"title": "no file", "upload": ""}
