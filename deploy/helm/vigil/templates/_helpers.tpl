{{/* Names and labels. */}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vigil.fullname" -}}
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

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ include "vigil.tag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: server
{{- end }}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "vigil.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "vigil.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "vigil.tag" .) }}
{{- end }}
{{- end }}

{{/* Several replicas: the PostgreSQL store, an HPA and a PDB. */}}
{{- define "vigil.multi" -}}
{{- if gt (int .Values.replicaCount) 1 }}true{{ end }}
{{- end }}

{{/* The bootstrap admin token from an existing Secret (VIGIL_ADMIN_TOKEN_FILE). */}}
{{- define "vigil.adminToken" -}}
{{- if .Values.adminToken.existingSecret }}true{{ end }}
{{- end }}

{{- define "vigil.external" -}}
{{- if .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{/* Checks that fail the render with a message saying what to do. */}}
{{- define "vigil.validate" -}}
{{- if and (include "vigil.multi" .) (not .Values.database.existingSecret) }}
{{- fail "replicaCount > 1 needs the PostgreSQL store: set database.existingSecret to a Secret holding the DSN (SQLite on a volume serves one replica)" }}
{{- end }}
{{- if and (include "vigil.multi" .) (not (and .Values.secrets.existingSecret .Values.secrets.masterKeyKey)) }}
{{- fail "replicaCount > 1 needs a shared master key: set secrets.existingSecret and secrets.masterKeyKey" }}
{{- end }}
{{- if and (include "vigil.multi" .) (not .Values.adminToken.existingSecret) }}
{{- fail "replicaCount > 1 needs a shared admin token, or each pod revokes the others' at start: set adminToken.existingSecret to a Secret holding one (kubectl create secret generic vigil-admin-token --from-literal=token=\"$(vigil admin-token generate)\")" }}
{{- end }}
{{- if and .Values.secrets.existingSecret (not (or .Values.secrets.apiKeyKey .Values.secrets.masterKeyKey)) }}
{{- fail "secrets.existingSecret is set: name the key(s) to use with secrets.apiKeyKey and/or secrets.masterKeyKey" }}
{{- end }}
{{- if and (include "vigil.multi" .) (lt (int .Values.autoscaling.maxReplicas) (int .Values.replicaCount)) }}
{{- fail "autoscaling.maxReplicas must be at least replicaCount" }}
{{- end }}
{{- end }}
