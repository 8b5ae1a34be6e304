"""pytest plugin entry point (stub; being built)."""


def pytest_addoption(parser):
    group = parser.getgroup("kmw", "k-episode Meta-World conformance")
    group.addoption("--kmw-impl", default=None, help="DOTTED.PATH of the wrapper to check")
