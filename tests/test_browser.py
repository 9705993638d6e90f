"""The triage page in a real headless Chromium: keyboard shortcuts, and hostile ads stay inert."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from pipeline.ad import Ad
from pipeline.store import Store
from pipeline.web import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HOSTILE = (
    '<script>alert(1)</script>\nKerja di <img src=x onerror="alert(2)"> Kamboja, gaji 25 juta.\n'
    "Tiket ditanggung, visa turis, hubungi WA 0812-3456-7890."
)
PASSWORD = "correct horse battery"


def _add(store: Store, ad_id: str, text: str, score: float, flags: list[dict]) -> None:
    ad = Ad(text=text, id=ad_id, title=f"Lowongan {ad_id}", url=f"https://jobs.example/{ad_id}")
    store.add_ads([ad])
    store.save_scores(
        [
            {
                "ad_id": ad.id,
                "model_version": "test-1",
                "text_hash": ad.text_hash,
                "score": score,
                "flagged": True,
                "scores": {"tppo": score, "nonprocedural": score * 0.6, "fee_fraud": 0.2},
                "band": "Prioritas tinggi" if score >= 0.7 else "Tinjau",
                "flags": flags,
                "explanation": {
                    "terms": [
                        ["kamboja", 1.9],
                        ["visa turis", 1.2],
                        ["tiket", 0.5],
                        ["resmi", -0.4],
                    ]
                },
            }
        ]
    )
    store.enqueue([{"ad_id": ad.id, "priority": score, "reason": "score"}])


def _span(text: str, word: str) -> list[list[int]]:
    start = text.index(word)
    return [[start, start + len(word)]]


@pytest.fixture
def server(tmp_path):
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        reason = f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        if os.environ.get("WASPADA_REQUIRE_BROWSER"):
            pytest.fail(f"WASPADA_REQUIRE_BROWSER is set but this machine {reason}")
        pytest.skip(reason)
    pytest.importorskip("selenium", reason="needs selenium (pip install -e '.[test]')")
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    with Store(url) as store:
        flags = [
            {
                "id": "A1",
                "family": "A",
                "severity": "H",
                "evidence": "Kamboja",
                "spans": _span(HOSTILE, "Kamboja"),
                "description": "Scam-hub destination",
            },
            {
                "id": "E1",
                "family": "E",
                "severity": "C",
                "evidence": "visa turis",
                "spans": _span(HOSTILE, "visa turis"),
                "description": "Work on a tourist visa",
            },
            {
                "id": "L2",
                "family": "L",
                "severity": "-",
                "evidence": "Tiket ditanggung",
                "spans": _span(HOSTILE, "Tiket ditanggung"),
                "description": "Employer pays the ticket",
                "mitigating": True,
            },
        ]
        _add(store, "ad-hostile", HOSTILE, 0.93, flags)
        _add(store, "ad-2", "Dicari admin online, gaji dolar, berangkat dari Batam.", 0.71, [])
        _add(store, "ad-3", "Lowongan perawat Jepang lewat P3MI resmi, tanpa biaya.", 0.52, [])
        store.add_user("alice", "reviewer", generate_password_hash(PASSWORD))
    app = create_app(url, secret_key="browser-test", testing=True)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", app.extensions["waspada_store"]
    httpd.shutdown()
    thread.join(5)
    app.extensions["waspada_store"].close()


@pytest.fixture
def browser(tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,800",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def _shown_ad(driver) -> str:
    """The ad id on the triage page ("" when none, or while a page is being replaced)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        found = driver.find_elements(By.CSS_SELECTOR, "#decide-form input[name=ad_id]")
        return found[0].get_attribute("value") if found else ""
    except StaleElementReferenceException:
        return ""


def _page_done(driver, marker: str) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        ready = driver.execute_script("return document.readyState") == "complete"
        return ready and marker in driver.find_element(By.TAG_NAME, "main").text
    except StaleElementReferenceException:
        return False


def _press(driver, key: str, then: str) -> None:
    """Press a key and wait for the page that follows: ad ``then``, or the empty queue."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    ActionChains(driver).send_keys(key).perform()
    if then:
        WebDriverWait(driver, 10).until(lambda d: _shown_ad(d) == then and _page_done(d, then))
    else:
        WebDriverWait(driver, 10).until(lambda d: _page_done(d, "Nothing left for you to review"))


def test_keyboard_triage_and_hostile_ad_stays_inert(server, browser, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    base, store = server
    browser.get(f"{base}/review")
    # Not logged in: the login page, which sends us back to /review.
    browser.find_element(By.NAME, "name").send_keys("alice")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD + Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: _page_done(d, "ad-hostile"))

    assert _shown_ad(browser) == "ad-hostile"
    text = browser.find_element(By.CSS_SELECTOR, ".adtext")
    assert "<script>alert(1)</script>" in text.text
    assert '<img src=x onerror="alert(2)">' in text.text
    assert text.find_elements(By.CSS_SELECTOR, "script, img") == []
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - raises when no alert is open
    marks = [m.text for m in text.find_elements(By.TAG_NAME, "mark")]
    assert marks == ["Kamboja", "Tiket ditanggung", "visa turis"]
    assert "claimed, unverified" in browser.find_element(By.CSS_SELECTOR, ".flags").text

    screenshot = Path(os.environ.get("WASPADA_SCREENSHOT_DIR", tmp_path)) / "triage.png"
    browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000

    # n focuses the note; Escape leaves it; 1 saves TPPO with the note and advances.
    ActionChains(browser).send_keys("n").perform()
    assert browser.switch_to.active_element.get_attribute("name") == "note"
    ActionChains(browser).send_keys("kamboja + visa turis", Keys.ESCAPE).perform()
    _press(browser, "1", then="ad-2")
    _press(browser, "4", then="ad-3")
    _press(browser, "s", then="")

    decisions = {d["ad_id"]: d for d in store.decision_history()}
    assert set(decisions) == {"ad-hostile", "ad-2"}
    assert decisions["ad-hostile"]["label"] == "tppo"
    assert decisions["ad-hostile"]["note"] == "kamboja + visa turis"
    assert decisions["ad-2"]["label"] == "legit"
    skipped = store.queue_entry("ad-3")
    assert (skipped.status, skipped.claimed_by) == ("open", None)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
