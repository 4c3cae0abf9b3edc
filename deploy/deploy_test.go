package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rezigate/rezigate/internal/config"
)

const (
	manifestPath     = "kubernetes/rezigate-sidecar.yaml"
	unitPath         = "systemd/rezigate.service"
	envExamplePath   = "systemd/rezigate.env.example"
	dockerfilePath   = "../Dockerfile"
	dockerignorePath = "../.dockerignore"
	goModPath        = "../go.mod"

	sidecarName = "rezigate"
	configKey   = "config.yaml"
	// nonrootUID is the distroless nonroot user; the Dockerfile's USER and
	// the Deployment's runAsUser must agree on it.
	nonrootUID = 65532
	// placeholderPrefix marks every example secret value, so a real secret
	// committed by mistake fails the tests.
	placeholderPrefix = "CHANGE-ME"
)

// secretVars are the environment variables that carry rezigate's secrets.
var secretVars = []string{
	"REZIGATE_OIDC_CLIENT_SECRET",
	"REZIGATE_SESSION_SECRETS",
	"REZIGATE_IDENTITY_UID_SECRET",
	"REZIGATE_REZI_PRIVATE_KEY",
}

// The types below decode only the fields the tests check; the rest of each
// object is ignored.

type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
}

type secret struct {
	object     `yaml:",inline"`
	StringData map[string]string `yaml:"stringData"`
	Data       map[string]string `yaml:"data"`
}

type configMap struct {
	object `yaml:",inline"`
	Data   map[string]string `yaml:"data"`
}

type deployment struct {
	object `yaml:",inline"`
	Spec   struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int  `yaml:"terminationGracePeriodSeconds"`
	AutomountServiceAccountToken  *bool `yaml:"automountServiceAccountToken"`
	HostNetwork                   bool  `yaml:"hostNetwork"`
	Containers                    []container
	Volumes                       []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		HostPort      int    `yaml:"hostPort"`
	} `yaml:"ports"`
	Env []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
	SecurityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		RunAsUser                *int  `yaml:"runAsUser"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Privileged               *bool `yaml:"privileged"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Lifecycle      struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

type probe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
}

type service struct {
	object `yaml:",inline"`
	Spec   struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string      `yaml:"name"`
			Port       int         `yaml:"port"`
			TargetPort intOrString `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

// intOrString is Kubernetes' IntOrString: a port number or a port name.
type intOrString string

func (p *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a port number or name", n.Line)
	}
	*p = intOrString(n.Value)
	return nil
}

// port resolves p against c's named ports, as the kubelet and Services do;
// 0 means it names no port of c.
func (c *container) port(p intOrString) int {
	if n, err := strconv.Atoi(string(p)); err == nil {
		return n
	}
	for _, cp := range c.Ports {
		if cp.Name == string(p) {
			return cp.ContainerPort
		}
	}
	return 0
}

// manifest is a Kubernetes example, one node per YAML document.
type manifest struct {
	path string
	docs []*yaml.Node
}

// loadManifest reads the sidecar example.
func loadManifest(t *testing.T) manifest {
	t.Helper()
	return loadManifestAt(t, manifestPath)
}

// loadManifestAt reads the example at path.
func loadManifestAt(t *testing.T, path string) manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	m := manifest{path: path}
	for {
		n := new(yaml.Node)
		err := dec.Decode(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("yaml.Decode(%s document %d) = %v; want no error", path, len(m.docs)+1, err)
		}
		m.docs = append(m.docs, n)
	}
	return m
}

// one decodes into v the only document of the given kind.
func (m manifest) one(t *testing.T, kind string, v any) {
	t.Helper()
	var found []*yaml.Node
	for _, n := range m.docs {
		var o object
		if err := n.Decode(&o); err == nil && o.Kind == kind {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		t.Fatalf("documents of kind %q in %s = %d; want 1", kind, m.path, len(found))
	}
	if err := found[0].Decode(v); err != nil {
		t.Fatalf("decode %s: %v", kind, err)
	}
}

// sidecar returns the Deployment's rezigate container.
func (d *deployment) sidecar(t *testing.T) *container {
	t.Helper()
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == sidecarName {
			return c
		}
	}
	t.Fatalf("Deployment %q has no container %q", d.Metadata.Name, sidecarName)
	return nil
}

// sidecarObjects decodes the four objects of the manifest.
func sidecarObjects(t *testing.T) (secret, configMap, deployment, service) {
	t.Helper()
	m := loadManifest(t)
	var (
		s   secret
		cm  configMap
		d   deployment
		svc service
	)
	m.one(t, "Secret", &s)
	m.one(t, "ConfigMap", &cm)
	m.one(t, "Deployment", &d)
	m.one(t, "Service", &svc)
	return s, cm, d, svc
}

// environ turns a Secret's or env file's entries into os.Environ form,
// sorted so failures are stable.
func environ(vars map[string]string) []string {
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// realSecrets replaces every placeholder with a value long enough for
// rezigate, as an operator would.
func realSecrets(vars map[string]string) []string {
	real := make(map[string]string, len(vars))
	for k := range vars {
		real[k] = strings.Repeat("k", 48)
	}
	return environ(real)
}

// parseConfig loads the ConfigMap's config.yaml with the given environment,
// exactly as rezigate does at start.
func parseConfig(t *testing.T, cm configMap, env []string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(cm.Data[configKey]), env)
	if err != nil {
		t.Fatalf("config.Parse(ConfigMap %s, Secret with real values) = %v; want no error", configKey, err)
	}
	return cfg
}

func listenPort(t *testing.T, key, addr string) (host string, port int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("net.SplitHostPort(%s %q) = %v; want no error", key, addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s port %q: %v", key, p, err)
	}
	return h, n
}

func TestManifestDocuments(t *testing.T) {
	m := loadManifest(t)
	wantAPI := map[string]string{
		"Secret":     "v1",
		"ConfigMap":  "v1",
		"Deployment": "apps/v1",
		"Service":    "v1",
	}
	seen := map[string]int{}
	for i, n := range m.docs {
		var o object
		if err := n.Decode(&o); err != nil {
			t.Errorf("document %d: %v", i+1, err)
			continue
		}
		if o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("document %d: kind = %q, metadata.name = %q; want both set", i+1, o.Kind, o.Metadata.Name)
		}
		if want, ok := wantAPI[o.Kind]; !ok {
			t.Errorf("document %d: kind = %q; want one of Secret, ConfigMap, Deployment, Service", i+1, o.Kind)
		} else if o.APIVersion != want {
			t.Errorf("%s %q apiVersion = %q; want %q", o.Kind, o.Metadata.Name, o.APIVersion, want)
		}
		seen[o.Kind]++
	}
	for kind := range wantAPI {
		if seen[kind] != 1 {
			t.Errorf("documents of kind %q = %d; want 1", kind, seen[kind])
		}
	}
}

func TestSidecarContainer(t *testing.T) {
	s, cm, d, _ := sidecarObjects(t)
	c := d.sidecar(t)
	pod := d.Spec.Template.Spec

	str := func(p *bool) string {
		if p == nil {
			return "unset"
		}
		return strconv.FormatBool(*p)
	}
	probePath := func(p *probe) string {
		if p == nil || p.HTTPGet == nil {
			return "no httpGet probe"
		}
		return p.HTTPGet.Path
	}
	probePort := func(p *probe) int {
		if p == nil || p.HTTPGet == nil {
			return 0
		}
		return c.port(p.HTTPGet.Port)
	}
	secretRefs := func() string {
		var names []string
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				names = append(names, e.SecretRef.Name)
			}
		}
		return strings.Join(names, ",")
	}
	configMount := func() string {
		for _, v := range pod.Volumes {
			if v.ConfigMap == nil || v.ConfigMap.Name != cm.Metadata.Name {
				continue
			}
			for _, m := range c.VolumeMounts {
				if m.Name == v.Name {
					return fmt.Sprintf("%s readOnly=%t", m.MountPath, m.ReadOnly)
				}
			}
		}
		return "not mounted"
	}
	runAsUser := "unset"
	if u := c.SecurityContext.RunAsUser; u != nil {
		runAsUser = strconv.Itoa(*u)
	}

	tests := []struct {
		field string
		got   any
		want  any
	}{
		{"securityContext.runAsNonRoot", str(c.SecurityContext.RunAsNonRoot), "true"},
		{"securityContext.runAsUser", runAsUser, strconv.Itoa(nonrootUID)},
		{"securityContext.readOnlyRootFilesystem", str(c.SecurityContext.ReadOnlyRootFilesystem), "true"},
		{"securityContext.allowPrivilegeEscalation", str(c.SecurityContext.AllowPrivilegeEscalation), "false"},
		{"securityContext.privileged", str(c.SecurityContext.Privileged), "unset"},
		{"securityContext.capabilities.drop", strings.Join(c.SecurityContext.Capabilities.Drop, ","), "ALL"},
		{"securityContext.capabilities.add", strings.Join(c.SecurityContext.Capabilities.Add, ","), ""},
		{"livenessProbe.httpGet.path", probePath(c.LivenessProbe), "/healthz"},
		{"readinessProbe.httpGet.path", probePath(c.ReadinessProbe), "/readyz"},
		{"livenessProbe.httpGet.port", probePort(c.LivenessProbe), 4180},
		{"readinessProbe.httpGet.port", probePort(c.ReadinessProbe), 4180},
		{"envFrom.secretRef.name", secretRefs(), s.Metadata.Name},
		{"args", strings.Join(c.Args, " "), "-config /etc/rezigate/config.yaml"},
		{"volumeMounts (ConfigMap)", configMount(), "/etc/rezigate readOnly=true"},
		{"resources.limits.memory set", c.Resources.Limits["memory"] != "", true},
		{"resources.requests.cpu set", c.Resources.Requests["cpu"] != "", true},
		{"pod automountServiceAccountToken", str(pod.AutomountServiceAccountToken), "false"},
		{"pod hostNetwork", pod.HostNetwork, false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("rezigate container %s = %v; want %v", tc.field, tc.got, tc.want)
		}
	}

	// A secret written into a container's env would sit in the Deployment
	// in plain text, readable by anyone who can read Deployments.
	for _, ct := range pod.Containers {
		for _, e := range ct.Env {
			if slices.Contains(secretVars, e.Name) {
				t.Errorf("container %q env %s = literal value; want it only from the Secret", ct.Name, e.Name)
			}
		}
		for _, p := range ct.Ports {
			if p.HostPort != 0 {
				t.Errorf("container %q port %q hostPort = %d; want 0: a host port bypasses the Service", ct.Name, p.Name, p.HostPort)
			}
		}
	}
}

func TestLabelsSelectPod(t *testing.T) {
	_, _, d, svc := sidecarObjects(t)
	pod := d.Spec.Template.Metadata.Labels
	tests := []struct {
		name     string
		selector map[string]string
	}{
		{"Deployment spec.selector.matchLabels", d.Spec.Selector.MatchLabels},
		{"Service spec.selector", svc.Spec.Selector},
	}
	for _, tc := range tests {
		if len(tc.selector) == 0 {
			t.Errorf("%s = empty; want the pod's labels", tc.name)
		}
		for k, v := range tc.selector {
			if pod[k] != v {
				t.Errorf("%s[%q] = %q; pod label = %q, want equal", tc.name, k, v, pod[k])
			}
		}
	}
}

// TestServiceExposesOnlyRezigate guards the point of the sidecar: the app
// trusts identity headers, so nothing but rezigate may reach it, and the
// metrics are not for the public either.
func TestServiceExposesOnlyRezigate(t *testing.T) {
	s, cm, d, svc := sidecarObjects(t)
	cfg := parseConfig(t, cm, realSecrets(s.StringData))
	c := d.sidecar(t)
	_, listen := listenPort(t, "listen", cfg.Listen)
	_, metrics := listenPort(t, "metrics_listen", cfg.MetricsListen)
	const appPort = 8080

	if len(svc.Spec.Ports) == 0 {
		t.Fatalf("Service %q ports = none; want one to rezigate", svc.Metadata.Name)
	}
	for _, p := range svc.Spec.Ports {
		target := c.port(p.TargetPort)
		if target != listen {
			t.Errorf("Service port %d targetPort %q = container port %d; want rezigate's listen port %d", p.Port, p.TargetPort, target, listen)
		}
		for _, bad := range []int{appPort, metrics} {
			if target == bad || p.Port == bad {
				t.Errorf("Service port %d -> %d; want neither to be %d (app or metrics)", p.Port, target, bad)
			}
		}
	}

	for _, ct := range d.Spec.Template.Spec.Containers {
		if ct.Name != sidecarName && len(ct.Ports) > 0 {
			t.Errorf("container %q ports = %d; want none: the app listens on loopback only", ct.Name, len(ct.Ports))
		}
	}
	tests := []struct {
		key  string
		got  int
		want int
	}{
		{"listen port vs containerPort http", listen, c.port("http")},
		{"metrics_listen port vs containerPort metrics", metrics, c.port("metrics")},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("config %s = %d; want %d", tc.key, tc.got, tc.want)
		}
	}
	if host, _ := listenPort(t, "listen", cfg.Listen); host == "127.0.0.1" || host == "localhost" || host == "::1" {
		t.Errorf("config listen host = %q; want all interfaces, or probes and the Service cannot reach rezigate", host)
	}
	if cfg.Upstream != fmt.Sprintf("http://127.0.0.1:%d", appPort) {
		t.Errorf("config upstream = %q; want the app container on loopback, http://127.0.0.1:%d", cfg.Upstream, appPort)
	}
}

func TestGracePeriodCoversShutdown(t *testing.T) {
	s, cm, d, _ := sidecarObjects(t)
	cfg := parseConfig(t, cm, realSecrets(s.StringData))
	c := d.sidecar(t)
	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil {
		t.Fatalf("terminationGracePeriodSeconds = unset; want more than shutdown_timeout")
	}
	need := time.Duration(cfg.ShutdownTimeout)
	if ps := c.Lifecycle.PreStop; ps != nil && ps.Sleep != nil {
		need += time.Duration(ps.Sleep.Seconds) * time.Second
	}
	if got := time.Duration(*grace) * time.Second; got <= need {
		t.Errorf("terminationGracePeriodSeconds = %v; want more than preStop sleep + shutdown_timeout = %v", got, need)
	}
}

func TestConfigMapHoldsNoSecrets(t *testing.T) {
	_, cm, _, _ := sidecarObjects(t)
	doc, ok := cm.Data[configKey]
	if !ok {
		t.Fatalf("ConfigMap %q data[%q] = missing; want the config file", cm.Metadata.Name, configKey)
	}
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(doc), &tree); err != nil {
		t.Fatalf("yaml.Unmarshal(ConfigMap %s) = %v; want no error", configKey, err)
	}
	tests := []struct{ section, key string }{
		{"oidc", "client_secret"},
		{"session", "secrets"},
		{"identity", "uid_secret"},
		{"rezi", "private_key"},
	}
	for _, tc := range tests {
		sec, _ := tree[tc.section].(map[string]any)
		v, ok := sec[tc.key]
		if !ok || v == nil {
			continue
		}
		if s, isStr := v.(string); isStr && s == "" {
			continue
		}
		if l, isList := v.([]any); isList && len(l) == 0 {
			continue
		}
		t.Errorf("ConfigMap %s %s.%s = set; want it absent or empty: secrets belong in the Secret", configKey, tc.section, tc.key)
	}
}

// TestSecretsAreVarsRezigateReads checks that the Secret and the env file
// name exactly the variables rezigate reads (config.Parse rejects unknown
// REZIGATE_ variables, so a typo fails here, not at 3 a.m.), hold only
// placeholders, and that those placeholders stop rezigate from starting.
func TestSecretsAreVarsRezigateReads(t *testing.T) {
	s, cm, _, _ := sidecarObjects(t)
	envFile := parseEnvFile(t, envExamplePath)
	if len(s.Data) != 0 {
		t.Errorf("Secret %q data = %d entries; want none: base64 hides committed secrets from review, use stringData", s.Metadata.Name, len(s.Data))
	}
	sources := []struct {
		name string
		vars map[string]string
	}{
		{"Secret " + s.Metadata.Name, s.StringData},
		{envExamplePath, envFile},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			keys := make([]string, 0, len(src.vars))
			for k, v := range src.vars {
				keys = append(keys, k)
				if !strings.HasPrefix(v, placeholderPrefix) {
					t.Errorf("%s[%s] = not a placeholder; want a value starting with %q", src.name, k, placeholderPrefix)
				}
			}
			slices.Sort(keys)
			want := slices.Sorted(slices.Values(secretVars))
			if !slices.Equal(keys, want) {
				t.Errorf("%s keys = %v; want %v", src.name, keys, want)
			}
			if _, err := config.Parse([]byte(cm.Data[configKey]), realSecrets(src.vars)); err != nil {
				t.Errorf("config.Parse(ConfigMap %s, %s with real values) = %v; want no error", configKey, src.name, err)
			}
			_, err := config.Parse([]byte(cm.Data[configKey]), environ(src.vars))
			for _, path := range []string{"REZIGATE_SESSION_SECRETS[0]", "REZIGATE_IDENTITY_UID_SECRET"} { // the placeholders came from the environment
				if err == nil || !strings.Contains(err.Error(), path) {
					t.Errorf("config.Parse(ConfigMap %s, %s placeholders) = %v; want an error naming %s", configKey, src.name, err, path)
				}
			}
		})
	}
}

// parseEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile does for
// unquoted values.
func parseEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			t.Fatalf("%s:%d = %q; want KEY=VALUE", path, line, text)
		}
		vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return vars
}
