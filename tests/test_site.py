"""The course site as a student sees it: built by Jupyter Book from the committed notebooks, then three pages opened
in headless Chromium (Debian's ``chromium`` and ``chromedriver``, driven by Selenium; no browser download).

Each page's screenshot is saved under ``build/site/screenshots/`` (a CI artefact to look at).
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # builds the course site and opens it in a browser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "site")
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
PAGES = {  # page -> what it has to show
    "notebooks/08_rlaif_vs_rlhf.html": "a lesson with plots",
    "notebooks/03_reward_model.html": "a lesson with a widget (the annotator form)",
    "course/syllabus.html": "the lesson map",
}
BAR = re.compile(r"Loading weights|\d+/\d+ \[\d+:\d+<|it/s\]|s/it\]")  # tqdm's text, frozen into an output


@pytest.fixture(scope="module")
def site():
    """Build the site once (warnings are errors) into build/site/_build/html."""
    shutil.rmtree(OUT, ignore_errors=True)
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", ".", "--config", "course/_config.yml",
               "--toc", "course/_toc.yml", "--path-output", OUT, "-W", "-n", "--keep-going"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"jupyter-book build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return os.path.join(OUT, "_build", "html")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or CHROMEDRIVER is None:
        why = "the browser test needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
        if os.environ.get("RLCORE_REQUIRE_BROWSER"):  # CI: the browser must be there
            pytest.fail(why)
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_the_front_page_is_for_students(site):
    with open(os.path.join(site, "course", "index.html")) as f:  # index.html redirects there
        html = f.read()
    assert "What you will build" in html and "Binder" in html and "Colab" in html
    assert "© 2023" not in html and "CLI" not in html


@pytest.mark.parametrize("page", PAGES)
def test_a_page_shows_its_images_no_widget_error_no_bar_and_badges_to_student_copies(page, site, browser):
    from selenium.webdriver.common.by import By

    browser.get("file://" + os.path.join(site, page))
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState") == "complete")
    os.makedirs(os.path.join(OUT, "screenshots"), exist_ok=True)
    browser.save_screenshot(os.path.join(OUT, "screenshots", page.replace("/", "_") + ".png"))
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Error displaying widget" not in text, page
    assert not BAR.search(text), f"{page} shows a progress bar: {BAR.search(text).group(0)!r}"
    local = [img for img in browser.find_elements(By.TAG_NAME, "img")
             if (img.get_attribute("src") or "").startswith("file://")]  # the Colab badge's SVG is on the web
    broken = [img.get_attribute("src") for img in local
              if not browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)]
    assert not broken, f"{page}: images that do not load: {broken}"
    if "plots" in PAGES[page]:
        assert len(local) >= 3, f"{page} should show its plots"
    if "widget" in PAGES[page]:
        assert "(An interactive widget: run the notebook in Jupyter or Colab to use it.)" in text
    colab = [a.get_attribute("href") for a in browser.find_elements(By.TAG_NAME, "a")
             if "colab.research.google.com/github" in (a.get_attribute("href") or "")]
    assert colab, f"{page} has no Colab link"
    assert all("/notebooks/student/" in href for href in colab), f"{page}: a Colab link opens the solutions"
    if page.startswith("notebooks/"):
        assert "Solutions:" in text  # the page says which edition it is
