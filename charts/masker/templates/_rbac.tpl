{{/*
Rules the operator needs wherever MaskerAgents live: its own resources, the ConfigMap/Secret it
renders per agent, events about them, pods (read-only, for the webhook and status), Kopf's
namespaced peering. Used by the ClusterRole (all namespaces) or by one Role per watched namespace.
*/}}
{{- define "masker.operator.namespacedRules" -}}
- apiGroups: [masker.dev]
  resources: [maskeragents]
  verbs: [get, list, watch, patch, update]
- apiGroups: [masker.dev]
  resources: [maskeragents/status]
  verbs: [get, patch, update]
- apiGroups: [""]
  resources: [configmaps, secrets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [kopf.dev]
  resources: [kopfpeerings]
  verbs: [get, list, watch, patch]
{{- end -}}
