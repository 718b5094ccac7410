"""Operator tests run against the real kube-apiserver test bed (tests/k8s_testbed.py).

One operator subprocess serves the whole session (tests/operator/_cluster.py).
"""

from tests.k8s_testbed import k8s_api, k8s_namespace, k8s_testbed  # noqa: F401
from tests.operator._cluster import operator  # noqa: F401
