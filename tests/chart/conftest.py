"""Chart tests: the real kube-apiserver test bed (tests/k8s_testbed.py) for install/dry-run tests.

Fixtures are imported rather than named in ``pytest_plugins`` (pytest refuses that outside the
root conftest); the offline tests never start the test bed.
"""

from tests.k8s_testbed import k8s_api, k8s_namespace, k8s_testbed  # noqa: F401
