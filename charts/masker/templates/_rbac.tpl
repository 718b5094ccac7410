{{/*
Rules the operator needs wherever MaskerAgents live (mirrors operator/masker_operator/rbac.yaml,
checked by tests/chart): its own resources, the ConfigMap/Secret it renders per agent, events.
Used by the ClusterRole (all namespaces) or by one Role per watched namespace.
*/}}
{{- define "masker.operator.namespacedRules" -}}
# Kopf: watch MaskerAgents, keep its progress annotations (patch), write status.
- apiGroups: [masker.dev]
  resources: [maskeragents]
  verbs: [get, list, watch, patch]
- apiGroups: [masker.dev]
  resources: [maskeragents/status]
  verbs: [get, patch, update]
# Owner references with blockOwnerDeletion (OwnerReferencesPermissionEnforcement).
- apiGroups: [masker.dev]
  resources: [maskeragents/finalizers]
  verbs: [update]
# The agent's ConfigMap/Secret (masker-agent-<name>) and the user's Secrets named in the spec,
# read by name: no list/watch; deletion is the garbage collector's job (owner references).
- apiGroups: [""]
  resources: [configmaps, secrets]
  verbs: [get, create, update]
# Kopf posts events about handler failures.
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end -}}
