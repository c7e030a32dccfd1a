{{- define "synthmri.fullname" -}}{{ printf "%s" .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}

{{- define "synthmri.labels" -}}
app.kubernetes.io/part-of: synthmri
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "synthmri.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "synthmri.image" -}}
{{- $img := .root.Values.image -}}
{{- if $img.registry }}{{ $img.registry }}/{{ end }}{{ $img.repository }}/{{ .component }}{{ .suffix | default "" }}:{{ $img.tag }}
{{- end -}}

{{- define "synthmri.s3Secret" -}}{{ .Values.objectStore.existingSecret | default (printf "%s-s3" (include "synthmri.fullname" .)) }}{{- end -}}
{{- define "synthmri.partnerSecret" -}}{{ .Values.partner.existingSecret | default (printf "%s-partners" (include "synthmri.fullname" .)) }}{{- end -}}
{{- define "synthmri.deidSecret" -}}{{ .Values.deid.existingSecret | default (printf "%s-deid" (include "synthmri.fullname" .)) }}{{- end -}}

{{- define "synthmri.s3Endpoint" -}}
{{- if .Values.objectStore.endpoint }}{{ .Values.objectStore.endpoint }}{{ else }}http://{{ include "synthmri.fullname" . }}-minio:9000{{ end -}}
{{- end -}}

{{/* Environment shared by every service container (TF_BACKEND is set per workload: the GAN Job forces the GPU). */}}
{{- define "synthmri.env" -}}
- name: S3_ENDPOINT
  value: {{ include "synthmri.s3Endpoint" . | quote }}
- name: S3_BUCKET
  value: {{ .Values.objectStore.bucket | quote }}
- name: S3_ACCESS_KEY
  valueFrom: { secretKeyRef: { name: {{ include "synthmri.s3Secret" . }}, key: accessKey } }
- name: S3_SECRET_KEY
  valueFrom: { secretKeyRef: { name: {{ include "synthmri.s3Secret" . }}, key: secretKey } }
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: METRICS_PORT
  value: {{ .Values.metrics.port | quote }}
- name: INGEST_ADDR
  value: {{ printf "%s-ingest:%v" (include "synthmri.fullname" .) .Values.ingest.port | quote }}
- name: GENERATOR_ADDR
  value: {{ printf "%s-generator:%v" (include "synthmri.fullname" .) .Values.generator.port | quote }}
- name: SEGMENTER_ADDR
  value: {{ printf "%s-segmenter:%v" (include "synthmri.fullname" .) .Values.segmenter.port | quote }}
- name: EVALUATOR_ADDR
  value: {{ printf "%s-evaluator:%v" (include "synthmri.fullname" .) .Values.evaluator.port | quote }}
{{- with .Values.tracing.otlpEndpoint }}
# OpenTelemetry traces to a collector (OTLP/HTTP); the services read the standard variables.
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $.Values.tracing.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $.Values.tracing.samplerArg | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "k8s.namespace.name=%s,service.namespace=%s" $.Release.Namespace $.Release.Name | quote }}
{{- end }}
{{- if .Values.tls.enabled }}
- name: TLS_CERT
  value: /run/tls/tls.crt
- name: TLS_KEY
  value: /run/tls/tls.key
- name: TLS_CA
  value: /run/tls/ca.crt
- name: TLS_CLIENT_AUTH
  value: {{ .Values.tls.mtls | quote }}
{{- end }}
{{- end -}}

{{- define "synthmri.volumeMounts" -}}
- { name: tmp, mountPath: /tmp }
- { name: data, mountPath: /var/lib/synthmri }
{{- if .Values.tls.enabled }}
- { name: tls, mountPath: /run/tls, readOnly: true }
{{- end }}
{{- end -}}

{{- define "synthmri.volumes" -}}
- { name: tmp, emptyDir: {} }
- { name: data, emptyDir: {} }
{{- if .Values.tls.enabled }}
- name: tls
  secret: { secretName: {{ .Values.tls.existingSecret }} }
{{- end }}
{{- end -}}
