{{/*
Shared names, labels and small builders. Kubernetes names are DNS labels: every generated name
is cut at 63 characters (and a trailing "-" removed) so long release names cannot break installs.
*/}}

{{- define "masker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "masker.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<suffix>", the suffix kept whole: the prefix is cut so the total fits 63. */}}
{{- define "masker.componentName" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $max := sub 62 (len $suffix) | int -}}
{{- printf "%s-%s" (include "masker.fullname" $root | trunc $max | trimSuffix "-") $suffix -}}
{{- end -}}

{{- define "masker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "masker.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "masker.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "masker.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "masker.chart" $root }}
{{ include "masker.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: masker
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Image reference: registry/repository@digest or :tag (default appVersion). */}}
{{- define "masker.image" -}}
{{- $root := index . 0 -}}
{{- $img := index . 1 -}}
{{- $repo := $img.repository -}}
{{- if $root.Values.image.registry -}}{{- $repo = printf "%s/%s" $root.Values.image.registry $img.repository -}}{{- end -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $repo $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $img.tag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "masker.proxy.fullname" -}}{{ include "masker.componentName" (list . "proxy") }}{{- end -}}
{{- define "masker.ner.fullname" -}}{{ include "masker.componentName" (list . "ner") }}{{- end -}}
{{- define "masker.operator.fullname" -}}{{ include "masker.componentName" (list . "operator") }}{{- end -}}
{{- define "masker.webhook.fullname" -}}{{ include "masker.componentName" (list . "webhook") }}{{- end -}}

{{- define "masker.proxy.serviceAccountName" -}}
{{- if .Values.proxy.serviceAccount.create -}}
{{- default (include "masker.proxy.fullname" .) .Values.proxy.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.proxy.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "masker.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "masker.operator.fullname" .) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "masker.proxy.secretName" -}}
{{- default (include "masker.proxy.fullname" .) .Values.proxy.secret.existingSecret -}}
{{- end -}}

{{/* Secret a proxy env key comes from: the audit key stays in the chart's "-audit" Secret when
     the user brings their own (unless auditHmacKeyInExistingSecret). (list . KEY) */}}
{{- define "masker.proxy.secretNameFor" -}}
{{- $root := index . 0 -}}
{{- $s := $root.Values.proxy.secret -}}
{{- if and (eq (index . 1) "MASKER_AUDIT_HMAC_KEY") $s.existingSecret (not $s.auditHmacKeyInExistingSecret) -}}
{{- include "masker.componentName" (list $root "audit") -}}
{{- else -}}
{{- include "masker.proxy.secretName" $root -}}
{{- end -}}
{{- end -}}

{{- define "masker.agents.configMapName" -}}
{{- default (include "masker.componentName" (list . "agents")) .Values.proxy.agents.configMapName -}}
{{- end -}}

{{- define "masker.agents.secretName" -}}
{{- default (include "masker.componentName" (list . "agents")) .Values.proxy.agents.secretName -}}
{{- end -}}

{{/* Prefix of the operator's aggregate shards (<prefix>-<i>) the central proxy mounts. */}}
{{- define "masker.agents.centralName" -}}
{{- include "masker.componentName" (list . "central-agents") -}}
{{- end -}}

{{/* Central serving: the operator writes the aggregate only where the chart's proxy reads it. */}}
{{- define "masker.central.enabled" -}}
{{- if and .Values.proxy.enabled .Values.operator.enabled -}}true{{- end -}}
{{- end -}}

{{/* Name of the MutatingWebhookConfiguration; the operator keeps this one object current. */}}
{{- define "masker.webhook.configurationName" -}}
{{- include "masker.componentName" (list . "sidecar-injector") -}}
{{- end -}}

{{- define "masker.webhook.tlsSecretName" -}}
{{- if eq .Values.webhook.tls.mode "secret" -}}
{{- required "webhook.tls.existingSecret is required when webhook.tls.mode=secret" .Values.webhook.tls.existingSecret -}}
{{- else -}}
{{- include "masker.componentName" (list . "webhook-tls") -}}
{{- end -}}
{{- end -}}

{{/* The webhook is served only when the operator that serves it is deployed. */}}
{{- define "masker.webhook.enabled" -}}
{{- if and .Values.webhook.enabled .Values.operator.enabled -}}true{{- end -}}
{{- end -}}

{{/* In-cluster URL of the NER service (host:port) for MASKER_NER_ADDR. */}}
{{/*
More than one NER pod: the proxy resolves every pod through the headless Service and its gRPC
client balances calls round-robin (one ClusterIP connection would pin all calls to one pod).
*/}}
{{- define "masker.ner.spread" -}}
{{- if or .Values.ner.autoscaling.enabled (gt (int .Values.ner.replicaCount) 1) }}true{{ end -}}
{{- end -}}

{{- define "masker.ner.addr" -}}
{{- if include "masker.ner.spread" . -}}
{{- printf "dns:///%s-headless.%s.svc:%d" (include "masker.ner.fullname" .) .Release.Namespace (int .Values.ner.service.port) -}}
{{- else -}}
{{- printf "%s.%s.svc:%d" (include "masker.ner.fullname" .) .Release.Namespace (int .Values.ner.service.port) -}}
{{- end -}}
{{- end -}}

{{/*
Self-signed webhook certificate, generated once per render and shared by the Secret and the
webhook configuration (memoised in .Values, which all templates of one render share). On upgrade
the existing Secret is reused (lookup), so the CA bundle does not change under running pods.
*/}}
{{- define "masker.webhook.selfSignedTLS" -}}
{{- if not (hasKey .Values "__webhookTLS") -}}
{{- $secretName := include "masker.webhook.tlsSecretName" . -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secretName -}}
{{- if and $existing $existing.data (hasKey $existing.data "ca.crt") (hasKey $existing.data "tls.crt") (hasKey $existing.data "tls.key") -}}
{{- $_ := set .Values "__webhookTLS" (dict "ca" (index $existing.data "ca.crt") "crt" (index $existing.data "tls.crt") "key" (index $existing.data "tls.key")) -}}
{{- else -}}
{{- $svc := include "masker.webhook.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $days := int .Values.webhook.tls.validityDays -}}
{{- $ca := genCA (printf "%s-ca" $svc) $days -}}
{{- $sans := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) nil $sans $days $ca -}}
{{- $_ := set .Values "__webhookTLS" (dict "ca" ($ca.Cert | b64enc) "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Refuse configurations that would silently lose data or never become ready. */}}
{{- define "masker.validate" -}}
{{- $p := .Values.proxy -}}
{{- if and $p.enabled (eq $p.database.type "sqlite") (or (gt (int $p.replicaCount) 1) $p.autoscaling.enabled) -}}
{{- fail "proxy: more than one replica (or autoscaling) needs proxy.database.type=postgres - a SQLite vault is per pod, so tokens minted by one replica would not resolve on another" -}}
{{- end -}}
{{- if and $p.enabled (eq $p.database.type "postgres") (not $p.database.existingSecret) (not $p.secret.existingSecret) (not $p.secret.databaseUrl) -}}
{{- fail "proxy.database.type=postgres needs the URL in a Secret: set proxy.database.existingSecret (or proxy.secret.existingSecret / proxy.secret.databaseUrl)" -}}
{{- end -}}
{{- if and .Values.webhook.enabled (not .Values.operator.enabled) -}}
{{- fail "webhook.enabled needs operator.enabled: the operator serves the sidecar-injection webhook" -}}
{{- end -}}
{{- if and (include "masker.webhook.enabled" .) (eq .Values.webhook.tls.mode "cert-manager") (not (.Capabilities.APIVersions.Has "cert-manager.io/v1")) -}}
{{- fail "webhook.tls.mode=cert-manager but the cluster does not serve cert-manager.io/v1 (install cert-manager, or use webhook.tls.mode=self-signed)" -}}
{{- end -}}
{{- if and (include "masker.webhook.enabled" .) (eq .Values.webhook.tls.mode "secret") (not .Values.webhook.tls.caBundle) -}}
{{- fail "webhook.tls.mode=secret needs webhook.tls.caBundle (base64 PEM of the CA that signed the Secret's certificate)" -}}
{{- end -}}
{{- end -}}

{{/* Egress rule for cluster DNS (any address: node-local caches differ between clusters). */}}
{{- define "masker.netpol.dnsEgress" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end -}}
