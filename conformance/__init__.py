"""conformance: a pytest plugin that checks any k-episode Meta-World wrapper against the contract.

Run ``pytest --kmw-impl=mypkg.Wrapper``; the requirements are in ``conformance/SPEC.md``.
"""

CONTRACT_VERSION = 1
__version__ = "0.1.0"
