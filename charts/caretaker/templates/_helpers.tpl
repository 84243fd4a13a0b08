{{/* Names and labels shared by every template. */}}

{{- define "caretaker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "caretaker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The metrics Service. Not "<fullname>-metrics": with the release named caretaker that Service
would be caretaker-metrics, and Kubernetes' service links would set CARETAKER_METRICS_PORT, the
operator's own setting, to tcp://<ip>:<port>. tests/integration/test_chart_env.py checks every
Service name against every variable the operator reads, for any release name.
*/}}
{{- define "caretaker.metricsServiceName" -}}
{{- printf "%s-monitoring" (include "caretaker.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "caretaker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "caretaker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "caretaker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "caretaker.labels" -}}
helm.sh/chart: {{ include "caretaker.chart" . }}
{{ include "caretaker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: caretaker
{{- end }}

{{- define "caretaker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "caretaker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "caretaker.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* True (non-empty) when Caretaker watches every namespace. */}}
{{- define "caretaker.clusterwide" -}}
{{- if not .Values.watchNamespaces }}true{{ end }}
{{- end }}

{{- define "caretaker.leaderLease" -}}
{{- printf "%s-leader" (include "caretaker.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "caretaker.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaseNamespace }}
{{- end }}

{{/* Namespaces whose Secrets HealthPolicies may reference, as a JSON list. */}}
{{- define "caretaker.secretNamespaces" -}}
{{- if .Values.healthPolicies.secretNamespaces }}
{{- .Values.healthPolicies.secretNamespaces | uniq | toJson }}
{{- else }}
{{- .Values.watchNamespaces | default list | uniq | toJson }}
{{- end }}
{{- end }}

{{- define "caretaker.validate" -}}
{{- if and .Values.rook.namespace .Values.ceph.existingSecret }}
{{- fail "give rook.namespace or ceph.existingSecret, not both" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount above 1 needs leaderElection.enabled: without it every replica acts" }}
{{- end }}
{{- if lt (int .Values.replicaCount) 1 }}
{{- fail "replicaCount: at least 1" }}
{{- end }}
{{- with .Values.leaderElection }}
{{- if and .enabled (or (ge (float64 .renewDeadline) (float64 .leaseDuration)) (ge (float64 .retryPeriod) (float64 .renewDeadline))) }}
{{- fail "leaderElection: retryPeriod < renewDeadline < leaseDuration" }}
{{- end }}
{{- end }}
{{- with .Values.kubernetesApi }}
{{- if and (not .host) .port }}
{{- fail "kubernetesApi.port needs kubernetesApi.host" }}
{{- end }}
{{- $port := toString .port }}
{{- if and .port (or (not (regexMatch "^[0-9]{1,5}$" $port)) (lt (atoi $port) 1) (gt (atoi $port) 65535)) }}
{{- fail (printf "kubernetesApi.port: %q is not a port number (1-65535)" $port) }}
{{- end }}
{{- if and .host (not .port) }}
{{- fail "kubernetesApi.host needs kubernetesApi.port (the in-cluster config would take the kubernetes Service's port)" }}
{{- end }}
{{- end }}
{{- range .Values.watchNamespaces }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .) }}
{{- fail (printf "watchNamespaces: %q is not a namespace name (patterns are not supported)" .) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The ServiceMonitor / PrometheusRule kinds exist only with prometheus-operator. */}}
{{- define "caretaker.hasMonitoringApi" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end }}
{{- end }}
