// Package charttest checks the manifests the Vigil Helm chart renders: each
// one is decoded strictly into its Kubernetes API type (an unknown or
// misplaced field fails), then the security context, the probes, the
// NetworkPolicy rules and the handling of secrets are asserted.
//
// scripts/test-deploy renders the chart with helm into a directory and runs
//
//	VIGIL_RENDERED_DIR=<dir> HELM=<helm> go test ./...
//
// in this module. The directory holds default.yaml (no values), single.yaml
// (../vigil/ci/values-single.yaml) and multi.yaml (../vigil/ci/values-multi.yaml).
// With HELM set, the chart is also rendered here with secret-looking values
// that must be refused or never appear in the output.
package charttest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// serviceMonitor is the part of prometheus-operator's ServiceMonitor the
// chart uses; strict decoding rejects anything else.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// rendered is one rendering of the chart, decoded.
type rendered struct {
	text        string
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	accounts    []*corev1.ServiceAccount
	claims      []*corev1.PersistentVolumeClaim
	policies    []*networkingv1.NetworkPolicy
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
	monitors    []*serviceMonitor
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decode splits a multi-document YAML stream and decodes every document
// strictly into its API type. An unknown kind is an error: a new template
// must be added here, with its checks.
func decode(t *testing.T, text []byte) *rendered {
	t.Helper()
	r := &rendered{text: string(text)}
	n := 0
	for _, doc := range docSep.Split(string(text), -1) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		if tm.Kind == "" && tm.APIVersion == "" {
			if strings.TrimSpace(stripComments(doc)) != "" {
				t.Fatalf("a document without apiVersion and kind:\n%s", doc)
			}
			continue
		}
		n++
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			o := &appsv1.Deployment{}
			r.deployments, obj = append(r.deployments, o), o
		case "v1 Service":
			o := &corev1.Service{}
			r.services, obj = append(r.services, o), o
		case "v1 ServiceAccount":
			o := &corev1.ServiceAccount{}
			r.accounts, obj = append(r.accounts, o), o
		case "v1 PersistentVolumeClaim":
			o := &corev1.PersistentVolumeClaim{}
			r.claims, obj = append(r.claims, o), o
		case "networking.k8s.io/v1 NetworkPolicy":
			o := &networkingv1.NetworkPolicy{}
			r.policies, obj = append(r.policies, o), o
		case "autoscaling/v2 HorizontalPodAutoscaler":
			o := &autoscalingv2.HorizontalPodAutoscaler{}
			r.hpas, obj = append(r.hpas, o), o
		case "policy/v1 PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			r.pdbs, obj = append(r.pdbs, o), o
		case "monitoring.coreos.com/v1 ServiceMonitor":
			o := &serviceMonitor{}
			r.monitors, obj = append(r.monitors, o), o
		default:
			t.Fatalf("unexpected manifest %s %s (a Secret or any other kind the checks do not know)", tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s does not decode strictly: %v\n%s", tm.Kind, err, doc)
		}
	}
	if n == 0 {
		t.Fatal("no manifest rendered")
	}
	return r
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func readRendered(t *testing.T, name string) *rendered {
	t.Helper()
	dir := os.Getenv("VIGIL_RENDERED_DIR")
	if dir == "" {
		t.Skip("VIGIL_RENDERED_DIR is not set: run scripts/test-deploy, which renders the chart and runs this test")
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, b)
}

// want describes what one values file must produce.
type want struct {
	file          string
	multi         bool
	apiKeyFile    bool
	masterKeyFile bool
	adminToken    bool
	tls           bool
	monitor       bool
	// NetworkPolicy peers, as strings (see peerString).
	apiPeers     []string
	metricsPeers []string
	egressPorts  map[string][]string // "53/UDP" -> peers
}

var dnsPeers = []string{"ns=kube-system pods=k8s-app=kube-dns"}

var cases = []want{
	{
		file:         "default.yaml",
		apiPeers:     []string{"pods=<all in namespace>"},
		metricsPeers: []string{"ns=monitoring"},
		egressPorts:  map[string][]string{"53/UDP": dnsPeers, "53/TCP": dnsPeers},
	},
	{
		file:         "single.yaml",
		apiKeyFile:   true,
		apiPeers:     []string{"cidr=10.20.0.0/16", "ns=ingress-nginx"},
		metricsPeers: []string{"ns=monitoring pods=app.kubernetes.io/name=prometheus"},
		egressPorts:  map[string][]string{"53/UDP": dnsPeers, "53/TCP": dnsPeers},
	},
	{
		file:          "multi.yaml",
		multi:         true,
		apiKeyFile:    true,
		masterKeyFile: true,
		adminToken:    true,
		tls:           true,
		monitor:       true,
		apiPeers:      []string{"cidr=10.20.0.0/16", "cidr=192.168.10.0/24", "ns=ingress-nginx", "ns=istio-system"},
		metricsPeers:  []string{"ns=monitoring"},
		egressPorts: map[string][]string{
			"53/UDP": dnsPeers, "53/TCP": dnsPeers,
			"5432/TCP": {"cidr=10.30.5.10/32"},
			"443/TCP":  {"cidr=203.0.113.7/32"},
		},
	},
}

func TestRenderedManifests(t *testing.T) {
	for _, w := range cases {
		t.Run(strings.TrimSuffix(w.file, ".yaml"), func(t *testing.T) {
			r := readRendered(t, w.file)
			checkCounts(t, r, w)
			d := r.deployments[0]
			checkSecurityContext(t, d)
			checkContainer(t, d, w)
			checkSecretsAsFiles(t, d, w)
			checkStore(t, r, w)
			checkService(t, r, d)
			checkNetworkPolicy(t, r.policies[0], d, w)
			checkNoSecretValue(t, r)
		})
	}
}

func checkCounts(t *testing.T, r *rendered, w want) {
	t.Helper()
	count := func(kind string, got, wantN int) {
		if got != wantN {
			t.Fatalf("%d %s, want %d", got, kind, wantN)
		}
	}
	count("Deployment", len(r.deployments), 1)
	count("Service", len(r.services), 1)
	count("ServiceAccount", len(r.accounts), 1)
	count("NetworkPolicy", len(r.policies), 1)
	multi := map[bool]int{false: 0, true: 1}[w.multi]
	count("HorizontalPodAutoscaler", len(r.hpas), multi)
	count("PodDisruptionBudget", len(r.pdbs), multi)
	count("PersistentVolumeClaim", len(r.claims), 1-multi)
	count("ServiceMonitor", len(r.monitors), map[bool]int{false: 0, true: 1}[w.monitor])
	if sa := r.accounts[0]; sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("the ServiceAccount mounts an API token")
	}
}

func checkSecurityContext(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Error("the pod shares a host namespace")
	}
	psc := pod.SecurityContext
	if psc == nil {
		t.Fatal("no pod securityContext")
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod: runAsNonRoot is not true")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.RunAsGroup == nil || *psc.RunAsGroup != 65532 {
		t.Error("pod: not running as 65532:65532")
	}
	if psc.FSGroup == nil || *psc.FSGroup != 65532 {
		t.Error("pod: fsGroup is not 65532 (the data volume would not be writable)")
	}
	if psc.FSGroupChangePolicy == nil || *psc.FSGroupChangePolicy != corev1.FSGroupChangeOnRootMismatch {
		t.Error("pod: fsGroupChangePolicy is not OnRootMismatch (kubelet would make master.key group-readable on each mount)")
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod: seccomp profile is not RuntimeDefault")
	}
	if len(pod.InitContainers) != 0 || len(pod.EphemeralContainers) != 0 {
		t.Error("unexpected init or ephemeral containers")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	sc := pod.Containers[0].SecurityContext
	if sc == nil {
		t.Fatal("no container securityContext")
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("container: runAsNonRoot is not true")
	}
	if sc.RunAsUser != nil && *sc.RunAsUser != 65532 {
		t.Errorf("container: runAsUser %d", *sc.RunAsUser)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("container: privileged")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container: allowPrivilegeEscalation is not false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("container: readOnlyRootFilesystem is not true")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Errorf("container: capabilities %+v, want drop [ALL] and add none", sc.Capabilities)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("container: seccomp profile is not RuntimeDefault")
	}
}

func env(c corev1.Container) map[string]corev1.EnvVar {
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		m[e.Name] = e
	}
	return m
}

func checkContainer(t *testing.T, d *appsv1.Deployment, w want) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
		if p.HostPort != 0 {
			t.Errorf("port %s uses a host port", p.Name)
		}
	}
	if ports["http"] != 5000 || ports["metrics"] != 9090 || len(ports) != 2 {
		t.Errorf("container ports %v, want http 5000 and metrics 9090", ports)
	}
	e := env(c)
	for name, v := range map[string]string{"VIGIL_ADDR": "0.0.0.0:5000", "VIGIL_METRICS_ADDR": "0.0.0.0:9090", "VIGIL_DATA": "/data/vigil"} {
		if e[name].Value != v {
			t.Errorf("%s=%q, want %q", name, e[name].Value, v)
		}
	}
	scheme := corev1.URISchemeHTTP
	if w.tls {
		scheme = corev1.URISchemeHTTPS
		if e["VIGIL_TLS_CERT"].Value == "" || e["VIGIL_TLS_KEY"].Value == "" || e["VIGIL_ALLOW_INSECURE_HTTP"].Value != "false" {
			t.Error("TLS is configured but Vigil is not told to serve it")
		}
	} else if e["VIGIL_ALLOW_INSECURE_HTTP"].Value != "true" {
		t.Error("plain HTTP behind an ingress needs VIGIL_ALLOW_INSECURE_HTTP=true")
	}
	probe := func(what string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", what)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" || p.HTTPGet.Scheme != scheme {
			t.Errorf("%s probe: %s %s %s, want %s on port http, %s", what, p.HTTPGet.Scheme, p.HTTPGet.Path, p.HTTPGet.Port.String(), path, scheme)
		}
	}
	probe("readiness", c.ReadinessProbe, "/ready")
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("startup", c.StartupProbe, "/healthz")
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if _, ok := mounts["/data"]; !ok {
		t.Error("no volume on /data")
	}
	if _, ok := mounts["/tmp"]; !ok {
		t.Error("no writable /tmp (the root filesystem is read-only)")
	}
	if w.multi {
		if d.Spec.Replicas != nil {
			t.Error("several replicas: the Deployment sets replicas, fighting the HorizontalPodAutoscaler")
		}
		if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
			t.Errorf("strategy %s, want RollingUpdate", d.Spec.Strategy.Type)
		}
	} else {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Error("one replica: replicas is not 1")
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("SQLite on a ReadWriteOnce volume: strategy %s, want Recreate", d.Spec.Strategy.Type)
		}
	}
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != "9090" {
		t.Errorf("pod annotations %v: no Prometheus scraping of port 9090", ann)
	}
}

// pathVars are Vigil's variables that name a secret file without the
// _FILE suffix.
var pathVars = map[string]bool{"VIGIL_TLS_KEY": true}

var secretName = regexp.MustCompile(`(?i)(KEY|SECRET|PASSWORD|PASSWD|TOKEN|DSN|DATABASE_URL|CREDENTIALS?)(_FILE)?$`)

// checkSecretsAsFiles: every secret reaches Vigil as a file from a Secret
// volume mounted read-only, never as an environment value.
func checkSecretsAsFiles(t *testing.T, d *appsv1.Deployment, w want) {
	t.Helper()
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	secretVolumes := map[string]*corev1.SecretVolumeSource{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = v.Secret
			if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o400 {
				t.Errorf("secret volume %s: defaultMode is not 0400", v.Name)
			}
			if len(v.Secret.Items) == 0 {
				t.Errorf("secret volume %s mounts every key of %s; list the keys", v.Name, v.Secret.SecretName)
			}
		}
		if v.Projected != nil || v.ConfigMap != nil || v.HostPath != nil {
			t.Errorf("unexpected volume %s", v.Name)
		}
	}
	secretMounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		if secretVolumes[m.Name] != nil {
			if !m.ReadOnly {
				t.Errorf("secret volume %s is mounted writable", m.Name)
			}
			secretMounts[m.MountPath] = m
		}
	}
	for _, ef := range c.EnvFrom {
		t.Errorf("envFrom %+v: secrets must come as files", ef)
	}
	files := map[string]string{} // env name -> "secret/key"
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("%s comes from a Secret as an environment value; mount it as a file", e.Name)
		}
		if !secretName.MatchString(e.Name) {
			continue
		}
		if !strings.HasSuffix(e.Name, "_FILE") && !pathVars[e.Name] {
			t.Errorf("%s carries a secret in the environment; use %s_FILE", e.Name, e.Name)
			continue
		}
		dir, base := filepath.Split(e.Value)
		m, ok := secretMounts[filepath.Clean(dir)]
		if !ok {
			t.Errorf("%s=%s is not in a mounted Secret", e.Name, e.Value)
			continue
		}
		sv := secretVolumes[m.Name]
		for _, it := range sv.Items {
			if it.Path == base {
				files[e.Name] = sv.SecretName + "/" + it.Key
			}
		}
		if files[e.Name] == "" {
			t.Errorf("%s=%s: no item %s in secret volume %s", e.Name, e.Value, base, m.Name)
		}
	}
	expect := map[string]string{}
	if w.apiKeyFile {
		expect["VIGIL_API_KEY_FILE"] = "vigil-secrets/api-key"
	}
	if w.masterKeyFile {
		expect["VIGIL_MASTER_KEY_FILE"] = "vigil-secrets/master-key"
	}
	if w.multi {
		expect["VIGIL_DATABASE_URL_FILE"] = "vigil-db/dsn"
	}
	if w.adminToken {
		expect["VIGIL_ADMIN_TOKEN_FILE"] = "vigil-admin-token/token"
	}
	if w.tls {
		expect["VIGIL_TLS_KEY"] = "vigil-tls/tls.key"
	}
	if !mapsEqual(files, expect) {
		t.Errorf("secret files %v, want %v", files, expect)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func checkStore(t *testing.T, r *rendered, w want) {
	t.Helper()
	d := r.deployments[0]
	var data *corev1.Volume
	for i, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "data" {
			data = &d.Spec.Template.Spec.Volumes[i]
		}
	}
	if data == nil {
		t.Fatal("no data volume")
	}
	if w.multi {
		if data.EmptyDir == nil {
			t.Error("several replicas: the data volume should be an emptyDir (the store is PostgreSQL)")
		}
		h := r.hpas[0]
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
			t.Errorf("HPA targets %+v", h.Spec.ScaleTargetRef)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 3 || h.Spec.MaxReplicas != 10 {
			t.Errorf("HPA replicas %v..%d, want 3..10", h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		p := r.pdbs[0]
		if p.Spec.MaxUnavailable == nil || !selects(p.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("PDB %+v does not cover the pods", p.Spec)
		}
		if w.monitor {
			m := r.monitors[0]
			if len(m.Spec.Endpoints) != 1 || m.Spec.Endpoints[0].Port != "metrics" || !selects(&m.Spec.Selector, r.services[0].Labels) {
				t.Errorf("ServiceMonitor %+v does not scrape the metrics port", m.Spec)
			}
		}
		return
	}
	if data.PersistentVolumeClaim == nil || data.PersistentVolumeClaim.ClaimName != r.claims[0].Name {
		t.Errorf("one replica: the data volume is not the chart's PVC: %+v", data.VolumeSource)
	}
	if q := r.claims[0].Spec.Resources.Requests.Storage(); q.IsZero() {
		t.Error("the PVC requests no storage")
	}
}

func selects(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil || len(sel.MatchLabels) == 0 {
		return false
	}
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func checkService(t *testing.T, r *rendered, d *appsv1.Deployment) {
	t.Helper()
	s := r.services[0]
	if !selects(&metav1.LabelSelector{MatchLabels: s.Spec.Selector}, d.Spec.Template.Labels) {
		t.Error("the Service does not select the pods")
	}
	if !selects(d.Spec.Selector, d.Spec.Template.Labels) {
		t.Error("the Deployment's selector does not match its pods")
	}
	ports := map[string]int32{}
	for _, p := range s.Spec.Ports {
		ports[p.Name] = p.Port
	}
	if ports["http"] != 5000 || ports["metrics"] != 9090 {
		t.Errorf("service ports %v", ports)
	}
	if s.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("service type %s, want ClusterIP by default", s.Spec.Type)
	}
}

func peerString(p networkingv1.NetworkPolicyPeer) string {
	var parts []string
	if p.IPBlock != nil {
		parts = append(parts, "cidr="+p.IPBlock.CIDR)
		if len(p.IPBlock.Except) > 0 {
			parts = append(parts, "except="+strings.Join(p.IPBlock.Except, ","))
		}
	}
	sel := func(prefix string, s *metav1.LabelSelector) {
		if s == nil {
			return
		}
		if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
			parts = append(parts, prefix+"=<all in namespace>")
			if prefix == "ns" {
				parts[len(parts)-1] = "ns=<all namespaces>"
			}
			return
		}
		var kv []string
		for k, v := range s.MatchLabels {
			if prefix == "ns" && k == "kubernetes.io/metadata.name" {
				kv = append(kv, v)
			} else {
				kv = append(kv, k+"="+v)
			}
		}
		if len(s.MatchExpressions) > 0 {
			kv = append(kv, "<expressions>")
		}
		sort.Strings(kv)
		parts = append(parts, prefix+"="+strings.Join(kv, ","))
	}
	sel("ns", p.NamespaceSelector)
	sel("pods", p.PodSelector)
	return strings.Join(parts, " ")
}

func portString(p networkingv1.NetworkPolicyPort) string {
	proto := corev1.ProtocolTCP
	if p.Protocol != nil {
		proto = *p.Protocol
	}
	port := "<any>"
	if p.Port != nil {
		port = p.Port.String()
	}
	if p.EndPort != nil {
		port += "-range"
	}
	return port + "/" + string(proto)
}

func checkNetworkPolicy(t *testing.T, np *networkingv1.NetworkPolicy, d *appsv1.Deployment, w want) {
	t.Helper()
	if !selects(&np.Spec.PodSelector, d.Spec.Template.Labels) {
		t.Fatal("the NetworkPolicy does not select Vigil's pods")
	}
	types := append([]networkingv1.PolicyType(nil), np.Spec.PolicyTypes...)
	slices.Sort(types)
	if !slices.Equal(types, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress}) {
		t.Errorf("policyTypes %v, want both Ingress and Egress (deny by default both ways)", np.Spec.PolicyTypes)
	}
	collect := func(dir string, n int, ports func(int) []networkingv1.NetworkPolicyPort, peers func(int) []networkingv1.NetworkPolicyPeer) map[string][]string {
		got := map[string][]string{}
		for i := 0; i < n; i++ {
			if len(ports(i)) == 0 {
				t.Errorf("%s rule %d has no ports: it would allow every port", dir, i)
			}
			if len(peers(i)) == 0 {
				t.Errorf("%s rule %d has no peers: it would allow everyone", dir, i)
			}
			for _, p := range ports(i) {
				for _, peer := range peers(i) {
					s := peerString(peer)
					if strings.Contains(s, "0.0.0.0/0") || strings.Contains(s, "::/0") || s == "ns=<all namespaces>" {
						t.Errorf("%s rule %d allows everyone: %s", dir, i, s)
					}
					got[portString(p)] = append(got[portString(p)], s)
				}
			}
		}
		for k := range got {
			sort.Strings(got[k])
		}
		return got
	}
	in := collect("ingress", len(np.Spec.Ingress),
		func(i int) []networkingv1.NetworkPolicyPort { return np.Spec.Ingress[i].Ports },
		func(i int) []networkingv1.NetworkPolicyPeer { return np.Spec.Ingress[i].From })
	wantIn := map[string][]string{"5000/TCP": sorted(w.apiPeers), "9090/TCP": sorted(w.metricsPeers)}
	if !multimapEqual(in, wantIn) {
		t.Errorf("ingress\n got %v\nwant %v", in, wantIn)
	}
	out := collect("egress", len(np.Spec.Egress),
		func(i int) []networkingv1.NetworkPolicyPort { return np.Spec.Egress[i].Ports },
		func(i int) []networkingv1.NetworkPolicyPeer { return np.Spec.Egress[i].To })
	wantOut := map[string][]string{}
	for k, v := range w.egressPorts {
		wantOut[k] = sorted(v)
	}
	if !multimapEqual(out, wantOut) {
		t.Errorf("egress\n got %v\nwant %v", out, wantOut)
	}
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

func multimapEqual(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// secretShapes are what a secret value looks like in a manifest.
var secretShapes = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^kind:\s*Secret\b`),
	regexp.MustCompile(`(?m)^\s*(stringData|data):`),
	regexp.MustCompile(`-----BEGIN`),
	regexp.MustCompile(`postgres(ql)?://`),
	regexp.MustCompile(`(?i)ApiKey=`),
	regexp.MustCompile(`(?i)password`),
}

func checkNoSecretValue(t *testing.T, r *rendered) {
	t.Helper()
	for _, re := range secretShapes {
		if loc := re.FindStringIndex(r.text); loc != nil {
			t.Errorf("the rendered manifests contain %q, which looks like a secret value", r.text[loc[0]:loc[1]])
		}
	}
}

// TestSecretValuesAreRefused renders the chart with values through which a
// careless user might pass a secret. Each must be refused (the values schema
// has no such field, and forbids secret-named extraEnv), or at least never
// appear in the output.
func TestSecretValuesAreRefused(t *testing.T) {
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Skip("HELM is not set: run scripts/test-deploy")
	}
	chart, err := filepath.Abs("../vigil")
	if err != nil {
		t.Fatal(err)
	}
	const canary = "CANARY-s3cr3t-9f8e7d6c5b4a"
	attempts := [][]string{
		{"--set", "apiKey=" + canary},
		{"--set", "secrets.apiKey=" + canary},
		{"--set", "secrets.masterKey=" + canary},
		{"--set", "database.dsn=postgres://vigil:" + canary + "@db:5432/vigil"},
		{"--set", "database.url=postgres://vigil:" + canary + "@db:5432/vigil"},
		{"--set", "tls.key=" + canary},
		{"--set", "adminToken.token=" + canary},
		{"--set", "adminToken.value=" + canary},
		{"--set", "extraEnv[0].name=VIGIL_TOKEN,extraEnv[0].value=" + canary},
		{"--set", "extraEnv[0].name=VIGIL_ADMIN_TOKEN,extraEnv[0].value=" + canary},
		{"--set", "extraEnv[0].name=VIGIL_API_KEY,extraEnv[0].value=" + canary},
		{"--set", "extraEnv[0].name=VIGIL_DATABASE_URL,extraEnv[0].value=" + canary},
		{"--set", "extraEnv[0].name=DB_PASSWORD,extraEnv[0].value=" + canary},
		{"--set", "podAnnotations.secret=" + canary},
	}
	for _, a := range attempts {
		args := append([]string{"template", "v", chart}, a...)
		cmd := exec.Command(helm, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			continue // refused: good
		}
		if strings.Contains(stdout.String(), canary) {
			// podAnnotations are free-form metadata, not a secret channel;
			// everything else must be refused.
			if !strings.HasPrefix(a[1], "podAnnotations") {
				t.Errorf("helm %s: the value was rendered into a manifest", strings.Join(a, " "))
			}
			continue
		}
		if !strings.HasPrefix(a[1], "podAnnotations") {
			t.Errorf("helm %s: accepted (and silently ignored); the values schema should refuse it", strings.Join(a, " "))
		}
	}
	// The default values render, and so does the same chart with only
	// Secret names given.
	for _, a := range [][]string{nil, {"--set", "secrets.existingSecret=s,database.existingSecret=db,secrets.masterKeyKey=m,adminToken.existingSecret=a,replicaCount=2"}} {
		out, err := exec.Command(helm, append([]string{"template", "v", chart}, a...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("helm template %v: %v\n%s", a, err, out)
		}
		checkNoSecretValue(t, decode(t, out))
	}
}

// helmTemplate renders the chart with args; it returns the output and the
// error, with helm's stderr in it.
func helmTemplate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Skip("HELM is not set: run scripts/test-deploy")
	}
	chart, err := filepath.Abs("../vigil")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm, append([]string{"template", "v", chart}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), errors.New(err.Error() + ": " + stderr.String())
	}
	return stdout.String(), nil
}

// TestSeveralReplicasNeedASharedAdminToken: without adminToken.existingSecret
// each pod would generate its own admin token and revoke the others' at
// start, so several replicas are refused without it, with a message saying
// what to do; with it, every pod reads the same token from the Secret, and
// one replica may use it too.
func TestSeveralReplicasNeedASharedAdminToken(t *testing.T) {
	multi := filepath.Join("..", "vigil", "ci", "values-multi.yaml")
	_, err := helmTemplate(t, "-f", multi, "--set", "adminToken.existingSecret=")
	if err == nil || !strings.Contains(err.Error(), "replicaCount > 1 needs a shared admin token") || !strings.Contains(err.Error(), "set adminToken.existingSecret") {
		t.Errorf("several replicas without adminToken.existingSecret: %v, want a refusal naming adminToken.existingSecret", err)
	}
	for _, a := range [][]string{
		{"--set", "adminToken.existingSecret=Bad_Name"},
		{"--set", "adminToken.tokenKey=a/b"},
		{"--set", "adminToken.tokenKey="},
	} {
		if _, err := helmTemplate(t, append([]string{"-f", multi}, a...)...); err == nil {
			t.Errorf("helm template %v: accepted; the values schema should refuse it", a)
		}
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"single", []string{"--set", "adminToken.existingSecret=ops-admin,adminToken.tokenKey=vigil.token"}, "ops-admin/vigil.token"},
		{"multi", []string{"-f", multi}, "vigil-admin-token/token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := helmTemplate(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			r := decode(t, []byte(out))
			checkNoSecretValue(t, r)
			pod := r.deployments[0].Spec.Template.Spec
			var file string
			for _, e := range pod.Containers[0].Env {
				if e.Name == "VIGIL_ADMIN_TOKEN_FILE" {
					file = e.Value
				}
			}
			if file != "/run/secrets/vigil-admin/token" {
				t.Fatalf("VIGIL_ADMIN_TOKEN_FILE=%q, want /run/secrets/vigil-admin/token", file)
			}
			var got string
			for _, v := range pod.Volumes {
				if v.Name == "admin-token" && v.Secret != nil && len(v.Secret.Items) == 1 && v.Secret.Items[0].Path == "token" {
					got = v.Secret.SecretName + "/" + v.Secret.Items[0].Key
				}
			}
			if got != tt.want {
				t.Errorf("admin token volume from %q, want %q", got, tt.want)
			}
			mounted := false
			for _, m := range pod.Containers[0].VolumeMounts {
				if m.Name == "admin-token" {
					mounted = m.MountPath == "/run/secrets/vigil-admin" && m.ReadOnly
				}
			}
			if !mounted {
				t.Error("the admin token Secret is not mounted read-only at /run/secrets/vigil-admin")
			}
		})
	}
	// Without it, one replica renders no admin token file: Vigil generates
	// the token into its data volume.
	out, err := helmTemplate(t)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "VIGIL_ADMIN_TOKEN_FILE") {
		t.Error("the default values set VIGIL_ADMIN_TOKEN_FILE")
	}
}
