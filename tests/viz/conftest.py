"""Fixtures for graphdl.viz tests: a small MLP training graph, and the system tools the tests drive
(Graphviz's ``dot``, headless Chromium through Playwright), skipped when absent unless
GRAPHDL_REQUIRE_SYSTEM_TOOLS=1 (as in CI), where their absence fails the test."""

import os
import shutil

import numpy as np
import pytest

import graphdl as tf

CHROMIUM = "/usr/bin/chromium"
# Chromium's background network calls are refused on the test machines; these flags keep it from making any.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require(available: bool, what: str):
    """Skip (or, with GRAPHDL_REQUIRE_SYSTEM_TOOLS=1, fail) when ``what`` is not available."""
    if available:
        return
    message = f"{what} is not installed"
    if os.environ.get("GRAPHDL_REQUIRE_SYSTEM_TOOLS") == "1":
        pytest.fail(f"{message}, and GRAPHDL_REQUIRE_SYSTEM_TOOLS=1 requires it")
    pytest.skip(message)


@pytest.fixture
def dot_program():
    """The path of Graphviz's dot."""
    path = shutil.which("dot")
    require(path is not None, "Graphviz's `dot` (apt-get install graphviz)")
    return path


class MLP:
    """x -> layer1 (dense, relu) -> out (dense) -> mean squared error, trained by gradient descent."""

    def __init__(self):
        self.x = tf.placeholder(tf.float32, [None, 4], name="x")
        self.y = tf.placeholder(tf.float32, [None, 1], name="y")
        with tf.name_scope("layer1"):
            w = tf.Variable(tf.random_normal([4, 8], seed=1), name="w")
            b = tf.Variable(tf.zeros([8]), name="b")
            self.hidden = tf.nn.relu(tf.matmul(self.x, w) + b)
        with tf.name_scope("out"):
            w2 = tf.Variable(tf.random_normal([8, 1], seed=2), name="w")
            self.prediction = tf.matmul(self.hidden, w2)
        self.loss = tf.reduce_mean(tf.square(self.prediction - self.y), name="loss")
        self.train = tf.train.GradientDescentOptimizer(0.1).minimize(self.loss)
        self.graph = tf.get_default_graph()

    def feed(self):
        return {self.x: np.ones((2, 4), np.float32), self.y: np.ones((2, 1), np.float32)}

    def explain(self):
        """Session.explain of one training step: its ``.program`` is the Program after fusion."""
        with tf.Session() as sess:
            return sess.explain(self.train, self.feed())


@pytest.fixture
def mlp():
    return MLP()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the system's /usr/bin/chromium) driven by Playwright, one per test module."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "Playwright for Python (pip install playwright)")
    require(os.path.exists(CHROMIUM), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
