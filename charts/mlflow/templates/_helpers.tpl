{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "mlflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped full name used for every resource. */}}
{{- define "mlflow.fullname" -}}
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

{{- define "mlflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mlflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The server pods only: the migration Job and the test pod must never become Service endpoints. */}}
{{- define "mlflow.serverSelectorLabels" -}}
{{ include "mlflow.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "mlflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mlflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mlflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mlflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The migration Job's ServiceAccount. Helm creates the release's resources only after
the pre-install hooks, so a ServiceAccount the chart creates does not exist yet when
the Job runs: the Job runs as a hook copy under its own name (a copy under the same
name would replace the live one on every Argo CD sync). A ServiceAccount the user
brings (serviceAccount.create=false) already exists and is used as is.
*/}}
{{- define "mlflow.migrationServiceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- printf "%s-migrate" (include "mlflow.serviceAccountName" . | trunc 55 | trimSuffix "-") }}
{{- else }}
{{- include "mlflow.serviceAccountName" . }}
{{- end }}
{{- end }}

{{/* The ServiceAccount annotations: the user's, plus the Workload Identity binding. */}}
{{- define "mlflow.serviceAccountAnnotations" -}}
{{- $annotations := deepCopy .Values.serviceAccount.annotations }}
{{- if and (eq .Values.gcs.auth "workloadIdentity") .Values.gcs.gcpServiceAccount }}
{{- $_ := set $annotations "iam.gke.io/gcp-service-account" .Values.gcs.gcpServiceAccount }}
{{- end }}
{{- with $annotations }}{{ toYaml . }}{{ end }}
{{- end }}

{{/*
The pod shape every pod of the chart shares (server, migration Job, `helm test`):
change it here and it lands in all three.
Pod level: no API token (nothing here talks to the API server), the image pull
Secrets, the pod securityContext.
*/}}
{{- define "mlflow.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Container level: the restricted securityContext of every container the chart runs. */}}
{{- define "mlflow.containerSecurityContext" -}}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end }}

{{/* The writable /tmp every container needs under a read-only root filesystem. */}}
{{- define "mlflow.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "mlflow.tmpVolume" -}}
- name: tmp
  emptyDir:
    {{- with .Values.server.tmpSizeLimit }}
    sizeLimit: {{ . }}
    {{- else }} {}
    {{- end }}
{{- end }}

{{/*
What the server and the migration containers share beyond the pod shape: they run
the same entrypoint against the same database, so the user's extra env sources and
volume mounts (a CA bundle for sslrootcert, say) go to both. Each emits nothing when empty.
*/}}
{{- define "mlflow.extraEnvFrom" -}}
{{- with .Values.extraEnvFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "mlflow.extraVolumeMounts" -}}
{{- with .Values.extraVolumeMounts }}{{ toYaml . }}{{ end }}
{{- end }}

{{- define "mlflow.extraVolumes" -}}
{{- with .Values.extraVolumes }}{{ toYaml . }}{{ end }}
{{- end }}

{{/* Where MLflow's Prometheus multiprocess files go: an emptyDir, the root filesystem being read-only. */}}
{{- define "mlflow.metricsDir" -}}/var/lib/mlflow/prometheus{{- end }}

{{/* repository:tag, plus @digest when one is given (the digest decides what is pulled). */}}
{{- define "mlflow.imageRef" -}}
{{- printf "%s:%s" .repository .tag }}{{ with .digest }}@{{ . }}{{ end }}
{{- end }}

{{- define "mlflow.image" -}}
{{- include "mlflow.imageRef" (dict "repository" .Values.image.repository "tag" (default .Chart.AppVersion .Values.image.tag) "digest" .Values.image.digest) }}
{{- end }}

{{/* The database host: with the Cloud SQL Auth Proxy and no host given, the proxy in the same pod. */}}
{{- define "mlflow.dbHost" -}}
{{- .Values.database.host | default (ternary "127.0.0.1" "" .Values.cloudSqlProxy.enabled) }}
{{- end }}

{{/* "true" when the password comes from the Secret this chart creates (password auth, no existingSecret). */}}
{{- define "mlflow.createsDbSecret" -}}
{{- if and (eq .Values.database.auth "password") (not .Values.database.existingSecret) }}true{{ end }}
{{- end }}

{{/*
The Cloud SQL Auth Proxy as a native sidecar: an init container with restartPolicy
Always (Kubernetes >= 1.29) starts before the server or the migration, stays up
beside it, and does not keep a Job from completing. Its startup probe holds the
next containers back until it can serve connections. It listens on 127.0.0.1 only.
*/}}
{{- define "mlflow.cloudSqlProxy" -}}
{{- $p := .Values.cloudSqlProxy -}}
- name: cloud-sql-proxy
  image: {{ include "mlflow.imageRef" $p.image | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  restartPolicy: Always
  args:
    - --structured-logs
    - --exit-zero-on-sigterm
    - --port={{ .Values.database.port }}
    - --health-check
    - --http-address=0.0.0.0
    - --http-port={{ $p.httpPort }}
    {{- if eq .Values.database.auth "iam" }}
    - --auto-iam-authn
    {{- end }}
    {{- range $p.extraArgs }}
    - {{ . | quote }}
    {{- end }}
    - {{ $p.instanceConnectionName | quote }}
  ports:
    - name: proxy-health
      containerPort: {{ $p.httpPort }}
      protocol: TCP
  startupProbe:
    httpGet: { path: /startup, port: proxy-health }
    periodSeconds: 1
    failureThreshold: 60
  livenessProbe:
    httpGet: { path: /liveness, port: proxy-health }
    periodSeconds: 20
    failureThreshold: 3
  resources:
    {{- toYaml $p.resources | nindent 4 }}
  {{- include "mlflow.containerSecurityContext" . | nindent 2 }}
{{- end }}

{{/* The Secret holding the DB password: the user's existing one, or the one this chart creates. */}}
{{- define "mlflow.dbSecretName" -}}
{{- default (printf "%s-db" (include "mlflow.fullname" .)) .Values.database.existingSecret }}
{{- end }}

{{- define "mlflow.dbSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}password{{ end }}
{{- end }}

{{/*
The one place the database connection reaches a container. The password is a
secretKeyRef: it never appears in a ConfigMap, an argument or the pod spec.
*/}}
{{- define "mlflow.dbEnv" -}}
- name: DB_HOST
  value: {{ include "mlflow.dbHost" . | quote }}
- name: DB_PORT
  value: {{ .Values.database.port | quote }}
- name: DB_NAME
  value: {{ .Values.database.name | quote }}
- name: DB_USER
  value: {{ .Values.database.user | quote }}
- name: DB_SSLMODE
  value: {{ .Values.database.sslmode | quote }}
- name: DB_WAIT_TIMEOUT_SECONDS
  value: {{ .Values.database.waitTimeoutSeconds | quote }}
{{- if eq .Values.database.auth "iam" }}
{{- /* The proxy logs in with the pod's IAM identity (--auto-iam-authn): no password exists. */}}
- name: DB_AUTH
  value: iam
{{- else }}
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "mlflow.dbSecretName" . }}
      key: {{ include "mlflow.dbSecretKey" . }}
{{- end }}
{{- end }}

{{/* GCS access: key file path, emulator host. Workload Identity needs no env. */}}
{{- define "mlflow.gcsEnv" -}}
{{- if eq .Values.gcs.auth "keyFile" }}
- name: GOOGLE_APPLICATION_CREDENTIALS
  value: /var/secrets/gcs/{{ .Values.gcs.keyFileSecretKey }}
{{- end }}
{{- if eq .Values.gcs.auth "none" }}
{{- /* No credentials: point Google's auth libraries at a closed loopback port instead of the metadata server. */}}
- name: GCE_METADATA_HOST
  value: "127.0.0.1:9"
- name: GCE_METADATA_IP
  value: "127.0.0.1:9"
{{- end }}
{{- if .Values.gcs.emulatorHost }}
- name: STORAGE_EMULATOR_HOST
  value: {{ .Values.gcs.emulatorHost | quote }}
{{- end }}
{{- end }}

{{/*
Host headers MLflow accepts. Setting MLFLOW_SERVER_ALLOWED_HOSTS replaces MLflow's
defaults, so they are repeated here (loopback, RFC 1918 and RFC 4193 ranges), then the
Service's in-cluster names, the ingress host and the user's list, each also with ":*"
because MLflow matches the Host header including its port.
*/}}
{{- define "mlflow.allowedHosts" -}}
{{- $svc := include "mlflow.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $hosts := list "localhost" "127.0.0.1" "[::1]" "0.0.0.0" $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- if and .Values.ingress.enabled .Values.ingress.host }}{{ $hosts = append $hosts .Values.ingress.host }}{{ end -}}
{{- $hosts = concat $hosts .Values.server.allowedHosts -}}
{{- $out := list -}}
{{- range $hosts }}
{{- $out = append $out . -}}
{{- /* fnmatch reads "[" as a character class: escape it in the pattern form. */ -}}
{{- if not (contains "*" .) }}{{ $out = append $out (printf "%s:*" (replace "[" "[[]" .)) }}{{ end -}}
{{- end }}
{{- $out = concat $out (list "10.*" "192.168.*" "fc00:*" "fd00:*") -}}
{{- range $i := untilStep 16 32 1 }}{{ $out = append $out (printf "172.%d.*" $i) }}{{ end -}}
{{- $out | uniq | join "," -}}
{{- end }}

{{- define "mlflow.corsAllowedOrigins" -}}
{{- $origins := .Values.server.corsAllowedOrigins -}}
{{- if and .Values.ingress.enabled .Values.ingress.host }}
{{- $scheme := ternary "https" "http" .Values.ingress.tls.enabled -}}
{{- $origins = append $origins (printf "%s://%s" $scheme .Values.ingress.host) -}}
{{- end }}
{{- $origins | uniq | join "," -}}
{{- end }}

{{/* `mlflow server` flags, the artifact mode decided in one place. */}}
{{- define "mlflow.serverArgs" -}}
- server
- --host
- 0.0.0.0
- --port
- "5000"
- --workers
- {{ .Values.server.workers | quote }}
{{- if .Values.artifacts.proxied }}
- --serve-artifacts
- --artifacts-destination
- {{ .Values.artifacts.destination | quote }}
{{- else }}
- --no-serve-artifacts
- --default-artifact-root
- {{ .Values.artifacts.destination | quote }}
{{- end }}
{{- if .Values.auth.enabled }}
- --app-name
- basic-auth
{{- end }}
{{- if .Values.metrics.enabled }}
- --expose-prometheus
- {{ include "mlflow.metricsDir" . }}
{{- end }}
{{- range .Values.server.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Checks Helm's schema cannot express (values that depend on each other). Each
message says which value to set and what it accepts.
*/}}
{{- define "mlflow.validate" -}}
{{- if not (include "mlflow.dbHost" .) }}
{{- fail "database.host is required: set it to the PostgreSQL host name or IP (e.g. --set database.host=10.20.0.3), or enable cloudSqlProxy" }}
{{- end }}
{{- if not .Values.artifacts.destination }}
{{- fail "artifacts.destination is required: set it to a GCS URI such as gs://my-bucket/mlflow" }}
{{- end }}
{{- if and .Values.cloudSqlProxy.enabled (not .Values.cloudSqlProxy.instanceConnectionName) }}
{{- fail "cloudSqlProxy.enabled is true but cloudSqlProxy.instanceConnectionName is empty: set it to <project>:<region>:<instance>" }}
{{- end }}
{{- if eq .Values.database.auth "iam" }}
{{- if or .Values.database.password .Values.database.existingSecret }}
{{- fail "database.auth is iam, which uses no password: remove database.password and database.existingSecret, or use database.auth=password" }}
{{- end }}
{{- if not .Values.cloudSqlProxy.enabled }}
{{- fail "database.auth is iam but cloudSqlProxy.enabled is false: IAM database login goes through the Cloud SQL Auth Proxy (--auto-iam-authn); enable it" }}
{{- end }}
{{- else }}
{{- if and (not .Values.database.existingSecret) (not .Values.database.password) }}
{{- fail "no database password: set database.existingSecret to a Secret holding it (recommended), give database.password at install time, or use database.auth=iam with the Cloud SQL Auth Proxy" }}
{{- end }}
{{- if and (not .Values.database.existingSecret) .Values.database.password (not (trim .Values.database.password)) }}
{{- fail "database.password is only whitespace: give the real password, or set database.existingSecret" }}
{{- end }}
{{- end }}
{{- if and (eq .Values.gcs.auth "keyFile") (not .Values.gcs.keyFileSecret) }}
{{- fail "gcs.auth is keyFile but gcs.keyFileSecret is empty: set it to the Secret holding the JSON key, or use gcs.auth=workloadIdentity" }}
{{- end }}
{{- if and .Values.service.nodePort (ne .Values.service.type "NodePort") (ne .Values.service.type "LoadBalancer") }}
{{- fail (printf "service.nodePort is set but service.type is %s: use type NodePort or LoadBalancer, or remove nodePort" .Values.service.type) }}
{{- end }}
{{- if and .Values.auth.enabled (not .Values.auth.existingSecret) }}
{{- fail "auth.enabled is true but auth.existingSecret is empty: name the Secret holding the admin username, admin password and CSRF key" }}
{{- end }}
{{- with .Values.autoscaling }}
{{- if and .enabled (gt (int .minReplicas) (int .maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) is greater than autoscaling.maxReplicas (%d): lower minReplicas or raise maxReplicas" (int .minReplicas) (int .maxReplicas)) }}
{{- end }}
{{- if and .enabled (kindIs "invalid" .targetCPUUtilizationPercentage) (kindIs "invalid" .targetMemoryUtilizationPercentage) }}
{{- fail "autoscaling.enabled is true but no target is set: set autoscaling.targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled is true but metrics.enabled is false: enable metrics, or there is no /metrics to scrape" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "ingress.enabled is true but ingress.host is empty: set the host name users will open" }}
{{- end }}
{{- if and .Values.ingress.tls.enabled (not .Values.ingress.tls.secretName) }}
{{- fail "ingress.tls.enabled is true but ingress.tls.secretName is empty: name the kubernetes.io/tls Secret" }}
{{- end }}
{{- end }}

{{/* Basic-auth credentials, all by secretKeyRef. The test pod reuses the admin pair. */}}
{{- define "mlflow.authAdminEnv" -}}
- name: MLFLOW_AUTH_ADMIN_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret }}
      key: {{ .Values.auth.usernameKey }}
- name: MLFLOW_AUTH_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret }}
      key: {{ .Values.auth.passwordKey }}
{{- end }}
