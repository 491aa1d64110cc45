{{/* Chart name, overridable. */}}
{{- define "failover-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "failover-operator.fullname" -}}
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

{{- define "failover-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "failover-operator.labels" -}}
helm.sh/chart: {{ include "failover-operator.chart" . }}
{{ include "failover-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels the Deployment and the metrics Service select on. */}}
{{- define "failover-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "failover-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "failover-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "failover-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The leader-election Lease: <fullname>-leader, so two releases never share one. */}}
{{- define "failover-operator.leaseName" -}}
{{- printf "%s-leader" (include "failover-operator.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "failover-operator.image" -}}
{{- printf "%s:%s" (required "image.repository is required" .Values.image.repository) (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The operator's least privileges on the objects it manages (same as manifests/rbac/role.yaml,
where each verb is justified).
*/}}
{{- define "failover-operator.rules" -}}
- apiGroups: ["failover.io"]
  resources: ["failovergroups"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["failover.io"]
  resources: ["failovergroups/status"]
  verbs: ["update", "patch"]
- apiGroups: ["failover.io"]
  resources: ["failovergroups/finalizers"]
  verbs: ["update", "patch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "patch", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/*
The namespaces the operator watches, as a JSON list: watchNamespace (kept for
compatibility) then watchNamespaces, without repeats, in that order. Empty: every namespace.
Use: include "failover-operator.watchNamespaces" . | fromJsonArray
*/}}
{{- define "failover-operator.watchNamespaces" -}}
{{- $all := list -}}
{{- with .Values.watchNamespace }}{{ $all = append $all . }}{{ end -}}
{{- range .Values.watchNamespaces }}{{ $all = append $all . }}{{ end -}}
{{- $all | uniq | toJson -}}
{{- end -}}
