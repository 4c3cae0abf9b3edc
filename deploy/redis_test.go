package deploy

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rezigate/rezigate/internal/config"
)

const (
	redisManifestPath = "kubernetes/rezigate-redis.yaml"
	// redisURLVar carries the Redis URL, password included.
	redisURLVar = "REZIGATE_REDIS_URL"
	// redisPasswordKey is the key of the Redis Secret the server reads.
	redisPasswordKey = "REDIS_PASSWORD"
	redisConfKey     = "redis.conf"
)

// statefulSet decodes what the tests check of the Redis StatefulSet.
type statefulSet struct {
	object `yaml:",inline"`
	Spec   struct {
		ServiceName string `yaml:"serviceName"`
		Replicas    *int   `yaml:"replicas"`
		Selector    struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
				SecurityContext              struct {
					RunAsNonRoot *bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []redisContainer `yaml:"containers"`
				Volumes    []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
					EmptyDir *struct {
						Medium string `yaml:"medium"`
					} `yaml:"emptyDir"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
			Spec struct {
				AccessModes []string `yaml:"accessModes"`
				Resources   struct {
					Requests map[string]string `yaml:"requests"`
				} `yaml:"resources"`
			} `yaml:"spec"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type redisContainer struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	SecurityContext struct {
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	} `yaml:"securityContext"`
}

type networkPolicy struct {
	object `yaml:",inline"`
	Spec   struct {
		PodSelector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"podSelector"`
		PolicyTypes []string `yaml:"policyTypes"`
		Ingress     []struct {
			From []struct {
				PodSelector *struct {
					MatchLabels map[string]string `yaml:"matchLabels"`
				} `yaml:"podSelector"`
				NamespaceSelector *yaml.Node `yaml:"namespaceSelector"`
				IPBlock           *yaml.Node `yaml:"ipBlock"`
			} `yaml:"from"`
			Ports []struct {
				Port int `yaml:"port"`
			} `yaml:"ports"`
		} `yaml:"ingress"`
	} `yaml:"spec"`
}

// fullService is service with its type and clusterIP.
type fullService struct {
	object `yaml:",inline"`
	Spec   struct {
		Type      string            `yaml:"type"`
		ClusterIP string            `yaml:"clusterIP"`
		Selector  map[string]string `yaml:"selector"`
		Ports     []struct {
			Name       string      `yaml:"name"`
			Port       int         `yaml:"port"`
			TargetPort intOrString `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

// redisObjects is the Redis example, decoded.
type redisObjects struct {
	rezigateSecret, redisSecret secret
	rezigateConfig, redisConfig configMap
	deployment                  deployment
	rms, redisService           fullService
	statefulSet                 statefulSet
	policy                      networkPolicy
}

func loadRedisObjects(t *testing.T) redisObjects {
	t.Helper()
	m := loadManifestAt(t, redisManifestPath)
	var o redisObjects
	byName := func(kind, name string, v any) {
		t.Helper()
		var found int
		for _, n := range m.docs {
			var ob object
			if err := n.Decode(&ob); err == nil && ob.Kind == kind && ob.Metadata.Name == name {
				found++
				if err := n.Decode(v); err != nil {
					t.Fatalf("decode %s %s: %v", kind, name, err)
				}
			}
		}
		if found != 1 {
			t.Fatalf("%s %q in %s: %d documents; want 1", kind, name, redisManifestPath, found)
		}
	}
	byName("Secret", "rezigate-secrets", &o.rezigateSecret)
	byName("Secret", "rezigate-redis-auth", &o.redisSecret)
	byName("ConfigMap", "rezigate-config", &o.rezigateConfig)
	byName("ConfigMap", "rezigate-redis-config", &o.redisConfig)
	byName("Service", "rms", &o.rms)
	byName("Service", "rezigate-redis", &o.redisService)
	m.one(t, "Deployment", &o.deployment)
	m.one(t, "StatefulSet", &o.statefulSet)
	m.one(t, "NetworkPolicy", &o.policy)
	return o
}

// redisEnv is the rezigate Secret with real values, as an operator would
// fill it in: long random secrets and a Redis URL.
func redisEnv(vars map[string]string) []string {
	real := map[string]string{}
	for k := range vars {
		real[k] = strings.Repeat("k", 48)
	}
	real[redisURLVar] = "redis://:" + strings.Repeat("f", 64) + "@rezigate-redis:6379/0"
	return environ(real)
}

// redisConfLines are redis.conf's directives, keyword to arguments.
func redisConfLines(conf string) map[string][]string {
	lines := map[string][]string{}
	for _, l := range strings.Split(conf, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, _ := strings.Cut(l, " ")
		lines[strings.ToLower(k)] = append(lines[strings.ToLower(k)], strings.TrimSpace(v))
	}
	return lines
}

func TestRedisManifestDocuments(t *testing.T) {
	m := loadManifestAt(t, redisManifestPath)
	want := map[string]struct {
		api   string
		count int
	}{
		"Secret":        {"v1", 2},
		"ConfigMap":     {"v1", 2},
		"Deployment":    {"apps/v1", 1},
		"Service":       {"v1", 2},
		"StatefulSet":   {"apps/v1", 1},
		"NetworkPolicy": {"networking.k8s.io/v1", 1},
	}
	seen := map[string]int{}
	for i, n := range m.docs {
		var o object
		if err := n.Decode(&o); err != nil {
			t.Errorf("document %d: %v", i+1, err)
			continue
		}
		w, ok := want[o.Kind]
		switch {
		case o.Metadata.Name == "":
			t.Errorf("document %d (%s): metadata.name empty", i+1, o.Kind)
		case !ok:
			t.Errorf("document %d: kind %q; want one of %v", i+1, o.Kind, slices.Sorted(func(yield func(string) bool) {
				for k := range want {
					if !yield(k) {
						return
					}
				}
			}))
		case o.APIVersion != w.api:
			t.Errorf("%s %q apiVersion = %q; want %q", o.Kind, o.Metadata.Name, o.APIVersion, w.api)
		}
		seen[o.Kind]++
	}
	for kind, w := range want {
		if seen[kind] != w.count {
			t.Errorf("documents of kind %s = %d; want %d", kind, seen[kind], w.count)
		}
	}
}

// TestRedisReplicas checks the rezigate side: three replicas, the Redis
// store in the ConfigMap, every secret (the Redis URL among them) only in
// the Secret, and a configuration rezigate accepts.
func TestRedisReplicas(t *testing.T) {
	o := loadRedisObjects(t)
	d := &o.deployment
	if r := d.Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("Deployment %q replicas = %s; want 3", d.Metadata.Name, intOrUnset(r))
	}
	c := d.sidecar(t)
	var refs []string
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil {
			refs = append(refs, e.SecretRef.Name)
		}
	}
	if !slices.Equal(refs, []string{o.rezigateSecret.Metadata.Name}) {
		t.Errorf("rezigate envFrom secretRefs = %v; want [%s]", refs, o.rezigateSecret.Metadata.Name)
	}
	for _, ct := range d.Spec.Template.Spec.Containers {
		for _, e := range ct.Env {
			if e.Name == redisURLVar || slices.Contains(secretVars, e.Name) {
				t.Errorf("container %q env %s = literal value; want it only from the Secret", ct.Name, e.Name)
			}
		}
	}
	sc := c.SecurityContext
	for _, tc := range []struct {
		field string
		ok    bool
	}{
		{"runAsNonRoot true", sc.RunAsNonRoot != nil && *sc.RunAsNonRoot},
		{"readOnlyRootFilesystem true", sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
		{"allowPrivilegeEscalation false", sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
		{"capabilities.drop ALL", slices.Equal(sc.Capabilities.Drop, []string{"ALL"})},
		{"livenessProbe /healthz", c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path == "/healthz"},
		{"readinessProbe /readyz", c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path == "/readyz"},
	} {
		if !tc.ok {
			t.Errorf("rezigate container: want %s", tc.field)
		}
	}

	doc := o.rezigateConfig.Data[configKey]
	var tree struct {
		Session map[string]any `yaml:"session"`
		Redis   map[string]any `yaml:"redis"`
	}
	if err := yaml.Unmarshal([]byte(doc), &tree); err != nil {
		t.Fatalf("yaml.Unmarshal(ConfigMap %s) = %v", configKey, err)
	}
	if got := tree.Session["store"]; got != "redis" {
		t.Errorf("ConfigMap session.store = %v; want redis", got)
	}
	if u, _ := tree.Redis["url"].(string); u != "" {
		t.Errorf("ConfigMap redis.url = set; want it only in %s (it holds the password)", redisURLVar)
	}

	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range o.rezigateSecret.StringData {
			if !yield(k) {
				return
			}
		}
	})
	want := slices.Sorted(slices.Values(append(slices.Clone(secretVars), redisURLVar)))
	if !slices.Equal(keys, want) {
		t.Errorf("Secret %s keys = %v; want %v", o.rezigateSecret.Metadata.Name, keys, want)
	}
	for k, v := range o.rezigateSecret.StringData {
		if !strings.Contains(v, placeholderPrefix) {
			t.Errorf("Secret %s[%s] = not a placeholder; want it to contain %q", o.rezigateSecret.Metadata.Name, k, placeholderPrefix)
		}
	}
	if len(o.rezigateSecret.Data)+len(o.redisSecret.Data) != 0 {
		t.Errorf("a Secret uses data; want stringData only, so a committed secret shows in review")
	}
	cfg, err := config.Parse([]byte(doc), redisEnv(o.rezigateSecret.StringData))
	if err != nil {
		t.Fatalf("config.Parse(ConfigMap %s, Secret with real values) = %v; want no error", configKey, err)
	}
	_, err = config.Parse([]byte(doc), environ(o.rezigateSecret.StringData))
	if err == nil || !strings.Contains(err.Error(), "REZIGATE_SESSION_SECRETS[0]") {
		t.Errorf("config.Parse(ConfigMap %s, placeholders) = %v; want an error naming REZIGATE_SESSION_SECRETS[0]", configKey, err)
	}

	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	need := time.Duration(cfg.ShutdownTimeout)
	if ps := c.Lifecycle.PreStop; ps != nil && ps.Sleep != nil {
		need += time.Duration(ps.Sleep.Seconds) * time.Second
	}
	if grace == nil || time.Duration(*grace)*time.Second <= need {
		t.Errorf("terminationGracePeriodSeconds = %s; want more than preStop sleep + shutdown_timeout = %v", intOrUnset(grace), need)
	}
}

// TestRedisURLNamesTheServer checks that REZIGATE_REDIS_URL reaches the
// Redis Service with the server's password.
func TestRedisURLNamesTheServer(t *testing.T) {
	o := loadRedisObjects(t)
	raw := o.rezigateSecret.StringData[redisURLVar]
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s does not parse: %v", redisURLVar, err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		t.Errorf("%s scheme = %q; want redis or rediss", redisURLVar, u.Scheme)
	}
	if h := u.Hostname(); h != o.redisService.Metadata.Name && !strings.HasPrefix(h, o.redisService.Metadata.Name+".") {
		t.Errorf("%s host = %q; want the Service %q", redisURLVar, h, o.redisService.Metadata.Name)
	}
	port, _ := strconv.Atoi(u.Port())
	var svcPorts []int
	for _, p := range o.redisService.Spec.Ports {
		svcPorts = append(svcPorts, p.Port)
	}
	if !slices.Contains(svcPorts, port) {
		t.Errorf("%s port = %d; want one of the Service's %v", redisURLVar, port, svcPorts)
	}
	pw, _ := u.User.Password()
	if want := o.redisSecret.StringData[redisPasswordKey]; pw == "" || pw != want {
		t.Errorf("%s password differs from Secret %s %s; want the same", redisURLVar, o.redisSecret.Metadata.Name, redisPasswordKey)
	}
	if !strings.HasPrefix(o.redisSecret.StringData[redisPasswordKey], placeholderPrefix) {
		t.Errorf("Secret %s %s = not a placeholder", o.redisSecret.Metadata.Name, redisPasswordKey)
	}
	for _, cm := range []configMap{o.rezigateConfig, o.redisConfig} {
		for k, v := range cm.Data {
			if pw != "" && strings.Contains(v, pw) {
				t.Errorf("ConfigMap %s %s holds the Redis password", cm.Metadata.Name, k)
			}
		}
	}
}

// TestRedisPersistent checks the server: one replica on a
// PersistentVolumeClaim with the append-only file on it, noeviction, and
// the password read from the Secret into a file in memory.
func TestRedisPersistent(t *testing.T) {
	o := loadRedisObjects(t)
	ss := &o.statefulSet
	if r := ss.Spec.Replicas; r == nil || *r != 1 {
		t.Errorf("StatefulSet replicas = %s; want 1", intOrUnset(r))
	}
	if ss.Spec.ServiceName != o.redisService.Metadata.Name {
		t.Errorf("StatefulSet serviceName = %q; want the Service %q", ss.Spec.ServiceName, o.redisService.Metadata.Name)
	}
	for k, v := range ss.Spec.Selector.MatchLabels {
		if ss.Spec.Template.Metadata.Labels[k] != v || o.redisService.Spec.Selector[k] != v {
			t.Errorf("StatefulSet selector %s=%s does not match the pod labels and the Service selector", k, v)
		}
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("volumeClaimTemplates = %d; want 1", len(ss.Spec.VolumeClaimTemplates))
	}
	pvc := ss.Spec.VolumeClaimTemplates[0]
	if pvc.Spec.Resources.Requests["storage"] == "" || !slices.Contains(pvc.Spec.AccessModes, "ReadWriteOnce") {
		t.Errorf("volumeClaimTemplate %q: storage %q, accessModes %v; want a size and ReadWriteOnce", pvc.Metadata.Name, pvc.Spec.Resources.Requests["storage"], pvc.Spec.AccessModes)
	}
	conf := redisConfLines(o.redisConfig.Data[redisConfKey])
	for _, tc := range []struct{ key, want string }{
		{"appendonly", "yes"},
		{"maxmemory-policy", "noeviction"},
		{"protected-mode", "yes"},
	} {
		if got := conf[tc.key]; len(got) != 1 || got[0] != tc.want {
			t.Errorf("redis.conf %s = %v; want %s", tc.key, got, tc.want)
		}
	}
	if got := conf["requirepass"]; len(got) != 0 {
		t.Errorf("redis.conf requirepass = set in the ConfigMap; want the password only from the Secret")
	}
	if len(conf["dir"]) != 1 || len(conf["include"]) != 1 {
		t.Fatalf("redis.conf dir = %v, include = %v; want one of each", conf["dir"], conf["include"])
	}
	dataDir, include := conf["dir"][0], conf["include"][0]

	if len(ss.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("StatefulSet containers = %d; want 1", len(ss.Spec.Template.Spec.Containers))
	}
	c := ss.Spec.Template.Spec.Containers[0]
	mounts := map[string]string{} // path -> volume
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	if mounts[dataDir] != pvc.Metadata.Name {
		t.Errorf("redis.conf dir %s is mounted from %q; want the PersistentVolumeClaim %q", dataDir, mounts[dataDir], pvc.Metadata.Name)
	}
	incDir := include[:strings.LastIndexByte(include, '/')]
	memory := false
	for _, v := range ss.Spec.Template.Spec.Volumes {
		if v.Name == mounts[incDir] && v.EmptyDir != nil && v.EmptyDir.Medium == "Memory" {
			memory = true
		}
	}
	if !memory {
		t.Errorf("redis.conf include %s: its directory is volume %q; want an emptyDir in memory, so the password never reaches a disk", include, mounts[incDir])
	}
	script := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
	if !strings.Contains(script, `requirepass %s`) || !strings.Contains(script, "$"+redisPasswordKey) || !strings.Contains(script, include) {
		t.Errorf("redis container command %q; want it to write requirepass from $%s into %s", script, redisPasswordKey, include)
	}
	fromSecret := false
	for _, e := range c.Env {
		if e.Value != "" && strings.Contains(e.Value, placeholderPrefix) {
			t.Errorf("redis container env %s = literal secret; want a secretKeyRef", e.Name)
		}
		if e.Name == redisPasswordKey && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
			e.ValueFrom.SecretKeyRef.Name == o.redisSecret.Metadata.Name && e.ValueFrom.SecretKeyRef.Key == redisPasswordKey {
			fromSecret = true
		}
	}
	if !fromSecret {
		t.Errorf("redis container env %s = not from Secret %s key %s", redisPasswordKey, o.redisSecret.Metadata.Name, redisPasswordKey)
	}
	var ports []int
	for _, p := range c.Ports {
		ports = append(ports, p.ContainerPort)
	}
	if p := conf["port"]; len(p) != 1 || !slices.Contains(ports, atoi(p[0])) {
		t.Errorf("redis.conf port %v is not a containerPort %v", p, ports)
	}
	spec := ss.Spec.Template.Spec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken ||
		spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot ||
		c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem ||
		c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Errorf("redis pod: want no service account token, non-root, a read-only root filesystem and no privilege escalation")
	}
}

// TestRedisNotExposed checks that only rezigate reaches Redis and only
// rezigate's port is public.
func TestRedisNotExposed(t *testing.T) {
	o := loadRedisObjects(t)
	if ty := o.redisService.Spec.Type; ty != "" && ty != "ClusterIP" {
		t.Errorf("Service %s type = %s; want cluster-internal", o.redisService.Metadata.Name, ty)
	}
	c := o.deployment.sidecar(t)
	for _, p := range o.rms.Spec.Ports {
		if target := c.port(p.TargetPort); target != 4180 {
			t.Errorf("Service rms port %d -> %d; want rezigate's 4180 only", p.Port, target)
		}
	}
	np := o.policy.Spec
	for k, v := range o.statefulSet.Spec.Template.Metadata.Labels {
		if np.PodSelector.MatchLabels[k] != v {
			t.Errorf("NetworkPolicy podSelector %v does not select the Redis pod %v", np.PodSelector.MatchLabels, o.statefulSet.Spec.Template.Metadata.Labels)
		}
	}
	if !slices.Contains(np.PolicyTypes, "Ingress") || len(np.Ingress) != 1 {
		t.Fatalf("NetworkPolicy: policyTypes %v, %d ingress rules; want Ingress with one rule", np.PolicyTypes, len(np.Ingress))
	}
	rule := np.Ingress[0]
	rezigatePods := o.deployment.Spec.Template.Metadata.Labels
	for _, f := range rule.From {
		if f.NamespaceSelector != nil || f.IPBlock != nil || f.PodSelector == nil {
			t.Errorf("NetworkPolicy ingress from %+v; want only a podSelector of rezigate's pods", f)
			continue
		}
		for k, v := range f.PodSelector.MatchLabels {
			if rezigatePods[k] != v {
				t.Errorf("NetworkPolicy admits pods %v; want rezigate's %v", f.PodSelector.MatchLabels, rezigatePods)
			}
		}
	}
	if len(rule.From) == 0 || len(rule.Ports) != 1 || rule.Ports[0].Port != 6379 {
		t.Errorf("NetworkPolicy ingress: %d sources, ports %+v; want rezigate's pods on 6379 only", len(rule.From), rule.Ports)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func intOrUnset(p *int) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(*p)
}
