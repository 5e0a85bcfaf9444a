package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// logsRawPartitions is the partition count of logs.raw (docs/architecture.md, docker-compose topic-init).
const logsRawPartitions = 6

// rendered is one overlay, decoded strictly.
type rendered struct {
	deployments  map[string]*appsv1.Deployment
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	pdbs         map[string]*policyv1.PodDisruptionBudget
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	namespaces   map[string]*corev1.Namespace
	scaled       map[string]*scaledObject
	rules        map[string]*prometheusRule
	monitors     map[string]*serviceMonitor
	namespaceSet map[string]bool
}

// scaledObject is the part of keda.sh/v1alpha1 ScaledObject that we use; decoding is
// strict, so a misspelt field fails the test.
type scaledObject struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		PollingInterval *int32 `json:"pollingInterval"`
		CooldownPeriod  *int32 `json:"cooldownPeriod"`
		Advanced        *struct {
			HorizontalPodAutoscalerConfig struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
			} `json:"horizontalPodAutoscalerConfig"`
		} `json:"advanced"`
		Triggers []struct {
			Type       string            `json:"type"`
			MetricType string            `json:"metricType"`
			Metadata   map[string]string `json:"metadata"`
		} `json:"triggers"`
	} `json:"spec"`
}

type prometheusRule struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

type serviceMonitor struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

var overlays = []string{"dev", "prod"}

func render(t *testing.T, overlay string) *rendered {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("overlays", overlay))
	if err != nil {
		t.Fatal(err)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build overlays/%s: %v", overlay, err)
	}
	r := &rendered{
		deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{}, hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		namespaces: map[string]*corev1.Namespace{}, scaled: map[string]*scaledObject{},
		rules: map[string]*prometheusRule{}, monitors: map[string]*serviceMonitor{}, namespaceSet: map[string]bool{},
	}
	for _, res := range rm.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		kind, name := res.GetKind(), res.GetName()
		if kind != "Namespace" {
			r.namespaceSet[res.GetNamespace()] = true
		}
		var target any
		switch kind {
		case "Deployment":
			v := &appsv1.Deployment{}
			r.deployments[name], target = v, v
		case "Service":
			v := &corev1.Service{}
			r.services[name], target = v, v
		case "ConfigMap":
			v := &corev1.ConfigMap{}
			r.configMaps[name], target = v, v
		case "Secret":
			v := &corev1.Secret{}
			r.secrets[name], target = v, v
		case "PodDisruptionBudget":
			v := &policyv1.PodDisruptionBudget{}
			r.pdbs[name], target = v, v
		case "HorizontalPodAutoscaler":
			v := &autoscalingv2.HorizontalPodAutoscaler{}
			r.hpas[name], target = v, v
		case "Namespace":
			v := &corev1.Namespace{}
			r.namespaces[name], target = v, v
		case "ScaledObject":
			v := &scaledObject{}
			r.scaled[name], target = v, v
		case "PrometheusRule":
			v := &prometheusRule{}
			r.rules[name], target = v, v
		case "ServiceMonitor":
			v := &serviceMonitor{}
			r.monitors[name], target = v, v
		default:
			t.Fatalf("overlays/%s: unexpected kind %s %s", overlay, kind, name)
		}
		if err := strictDecode(y, target); err != nil {
			t.Fatalf("overlays/%s: %s %s: %v\n%s", overlay, kind, name, err, y)
		}
	}
	return r
}

// strictDecode: YAML → JSON → the API type, failing on any field the type lacks.
func strictDecode(y []byte, into any) error {
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

func selectorMatches(t *testing.T, what string, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("%s: selector: %v", what, err)
		return false
	}
	if s.Empty() {
		t.Errorf("%s: empty selector selects everything", what)
		return false
	}
	return s.Matches(labels.Set(podLabels))
}

func TestOverlaysRender(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			r := render(t, o)
			if _, ok := r.namespaces["logwarden"]; !ok {
				t.Error("no Namespace logwarden")
			}
			if len(r.namespaceSet) != 1 || !r.namespaceSet["logwarden"] {
				t.Errorf("objects in namespaces %v, want only logwarden", sortedKeys(r.namespaceSet))
			}
			for _, n := range services {
				if r.deployments[n] == nil || r.services[n] == nil || r.pdbs[n] == nil {
					t.Errorf("%s: want a Deployment, a Service and a PodDisruptionBudget", n)
				}
			}
			if len(r.deployments) != len(services) {
				t.Errorf("deployments %d, want %d", len(r.deployments), len(services))
			}
		})
	}
}

func TestSelectorsMatchPods(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			r := render(t, o)
			for n, d := range r.deployments {
				pl := d.Spec.Template.Labels
				if !selectorMatches(t, "Deployment "+n, d.Spec.Selector, pl) {
					t.Errorf("Deployment %s: selector %v does not match its pod labels %v", n, d.Spec.Selector, pl)
				}
				for m, other := range r.deployments {
					if m != n && selectorMatches(t, "Deployment "+n, d.Spec.Selector, other.Spec.Template.Labels) {
						t.Errorf("Deployment %s's selector also matches %s's pods", n, m)
					}
				}
			}
			for n, s := range r.services {
				matched := 0
				for _, d := range r.deployments {
					if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
						matched++
						for _, p := range s.Spec.Ports {
							if !containerHasPort(d.Spec.Template.Spec.Containers, p.TargetPort.String()) {
								t.Errorf("Service %s port %s: targetPort %s is no container port of %s", n, p.Name, p.TargetPort.String(), d.Name)
							}
						}
					}
				}
				if matched != 1 {
					t.Errorf("Service %s selector %v matches %d Deployments, want 1", n, s.Spec.Selector, matched)
				}
			}
			for n, p := range r.pdbs {
				matched := 0
				for _, d := range r.deployments {
					if selectorMatches(t, "PDB "+n, p.Spec.Selector, d.Spec.Template.Labels) {
						matched++
					}
				}
				if matched != 1 {
					t.Errorf("PDB %s matches %d Deployments, want 1", n, matched)
				}
				if p.Spec.MinAvailable != nil {
					t.Errorf("PDB %s uses minAvailable: with one replica it would block node drains; use maxUnavailable", n)
				}
			}
			for _, m := range r.monitors {
				for _, n := range services {
					if !selectorMatches(t, "ServiceMonitor", &m.Spec.Selector, r.services[n].Labels) {
						t.Errorf("ServiceMonitor %s does not select Service %s (labels %v)", m.Metadata.Name, n, r.services[n].Labels)
					}
				}
				for _, e := range m.Spec.Endpoints {
					for _, n := range services {
						found := false
						for _, p := range r.services[n].Spec.Ports {
							found = found || p.Name == e.Port
						}
						if !found {
							t.Errorf("ServiceMonitor port %q is not a port name of Service %s", e.Port, n)
						}
					}
				}
			}
		})
	}
}

func containerHasPort(cs []corev1.Container, port string) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
				return true
			}
		}
	}
	return false
}

func TestDeploymentsHardenedAndProbed(t *testing.T) {
	ports := map[string]int32{"log-producer": 9081, "anomaly-classifier": 8082, "slack-notifier": 8083}
	for _, o := range overlays {
		for _, n := range services {
			t.Run(o+"/"+n, func(t *testing.T) {
				d := render(t, o).deployments[n]
				if d == nil {
					t.Fatal("no Deployment")
				}
				ps := d.Spec.Template.Spec
				if psc := ps.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
					psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("pod securityContext = %+v, want runAsNonRoot and seccomp RuntimeDefault", psc)
				}
				if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
					t.Error("automountServiceAccountToken should be false: the services never call the API server")
				}
				if len(ps.Containers) != 1 {
					t.Fatalf("%d containers, want 1", len(ps.Containers))
				}
				c := ps.Containers[0]
				if !strings.HasPrefix(c.Image, "logwarden/"+n+":") || strings.HasSuffix(c.Image, ":latest") {
					t.Errorf("image %q, want logwarden/%s with a pinned tag", c.Image, n)
				}
				// The ops port is named http (probes, ServiceMonitor); the producer also has
				// its ingest API on a port of its own.
				want := map[string]int32{"http": ports[n]}
				if n == "log-producer" {
					want["ingest"] = 8081
				}
				got := map[string]int32{}
				for _, p := range c.Ports {
					got[p.Name] = p.ContainerPort
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("ports %+v, want named ports %v", c.Ports, want)
				}
				for probeName, pr := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
					want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[probeName]
					if pr == nil || pr.HTTPGet == nil {
						t.Errorf("%s probe missing or not HTTP", probeName)
						continue
					}
					if pr.HTTPGet.Path != want {
						t.Errorf("%s probe path %q, want %s", probeName, pr.HTTPGet.Path, want)
					}
					if !containerHasPort(ps.Containers, pr.HTTPGet.Port.String()) {
						t.Errorf("%s probe port %s is no container port", probeName, pr.HTTPGet.Port.String())
					}
					if port := pr.HTTPGet.Port.String(); port != "http" && port != fmt.Sprint(ports[n]) {
						t.Errorf("%s probe on port %s, want the ops port http", probeName, port)
					}
				}
				sc := c.SecurityContext
				if sc == nil {
					t.Fatal("container securityContext missing")
				}
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Error("allowPrivilegeEscalation must be false")
				}
				if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Error("readOnlyRootFilesystem must be true")
				}
				if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
					t.Error("runAsNonRoot must be true")
				}
				if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
					t.Errorf("capabilities %+v, want drop ALL and add none", sc.Capabilities)
				}
				for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
					if req.IsZero() || lim.IsZero() {
						t.Errorf("%s: want a request and a limit", res)
					} else if req.Cmp(lim) > 0 {
						t.Errorf("%s: request %s above limit %s", res, req.String(), lim.String())
					}
				}
				if o == "dev" && (d.Spec.Replicas == nil || *d.Spec.Replicas != 1) {
					t.Errorf("dev replicas = %v, want 1", d.Spec.Replicas)
				}
			})
		}
	}
}

// TestEnvironmentIsRead: every variable a Deployment gets (env, and each key of the
// ConfigMaps and Secrets it takes with envFrom) is one the service reads.
func TestEnvironmentIsRead(t *testing.T) {
	for _, o := range overlays {
		r := render(t, o)
		for _, n := range services {
			t.Run(o+"/"+n, func(t *testing.T) {
				read := serviceEnv(t, n)
				c := r.deployments[n].Spec.Template.Spec.Containers[0]
				check := func(where, name string) {
					if !read.names[name] {
						t.Errorf("%s sets %s, which %s does not read (names from %s)", where, name, n, read.from)
					}
				}
				for _, e := range c.Env {
					check("env", e.Name)
				}
				if len(c.EnvFrom) == 0 {
					t.Error("no envFrom: settings come from the ConfigMaps")
				}
				for _, ef := range c.EnvFrom {
					if ef.Prefix != "" {
						t.Errorf("envFrom prefix %q: names would no longer match the config keys", ef.Prefix)
					}
					switch {
					case ef.ConfigMapRef != nil:
						cm := r.configMaps[ef.ConfigMapRef.Name]
						if cm == nil {
							t.Errorf("envFrom ConfigMap %s does not exist", ef.ConfigMapRef.Name)
							continue
						}
						for k := range cm.Data {
							check("ConfigMap "+cm.Name, k)
						}
					case ef.SecretRef != nil:
						s := r.secrets[ef.SecretRef.Name]
						if s == nil {
							t.Errorf("envFrom Secret %s does not exist", ef.SecretRef.Name)
							continue
						}
						for k := range s.Data {
							check("Secret "+s.Name, k)
						}
						for k := range s.StringData {
							check("Secret "+s.Name, k)
						}
					}
				}
			})
		}
	}
}

// TestSecretsAreOnlyExamples: the committed secret files hold no values.
func TestSecretsAreOnlyExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("base", "secrets", "*"))
	if len(files) == 0 {
		t.Fatal("no secret example files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") && strings.TrimSpace(v) != "" {
				t.Errorf("%s: %s has a value; example files must stay empty", f, k)
			}
		}
	}
}

func TestAutoscaling(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			r := render(t, o)
			scaledDeployments := map[string]string{}
			claim := func(owner, kind, name string) {
				if kind != "Deployment" {
					t.Errorf("%s targets a %s, want a Deployment", owner, kind)
				}
				if r.deployments[name] == nil {
					t.Errorf("%s targets Deployment %s, which does not exist", owner, name)
				}
				if prev, ok := scaledDeployments[name]; ok {
					t.Errorf("%s and %s both scale Deployment %s", prev, owner, name)
				}
				scaledDeployments[name] = owner
			}
			for n, h := range r.hpas {
				claim("HPA "+n, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
				if h.Spec.MaxReplicas > logsRawPartitions {
					t.Errorf("HPA %s maxReplicas %d > %d partitions", n, h.Spec.MaxReplicas, logsRawPartitions)
				}
				if len(h.Spec.Metrics) == 0 {
					t.Errorf("HPA %s has no metrics", n)
				}
			}
			for n, s := range r.scaled {
				if s.APIVersion != "keda.sh/v1alpha1" {
					t.Errorf("ScaledObject %s apiVersion %q", n, s.APIVersion)
				}
				claim("ScaledObject "+n, s.Spec.ScaleTargetRef.Kind, s.Spec.ScaleTargetRef.Name)
				if s.Spec.MaxReplicaCount == nil || *s.Spec.MaxReplicaCount > logsRawPartitions {
					t.Errorf("ScaledObject %s maxReplicaCount %v, want ≤ %d partitions", n, deref(s.Spec.MaxReplicaCount), logsRawPartitions)
				}
				if s.Spec.MinReplicaCount == nil || s.Spec.MaxReplicaCount == nil || *s.Spec.MinReplicaCount > *s.Spec.MaxReplicaCount {
					t.Errorf("ScaledObject %s min/max replicas inconsistent", n)
				}
				kafka := 0
				for _, tr := range s.Spec.Triggers {
					if tr.Type != "kafka" {
						continue
					}
					kafka++
					md := tr.Metadata
					for _, k := range []string{"bootstrapServers", "consumerGroup", "topic", "lagThreshold"} {
						if md[k] == "" {
							t.Errorf("ScaledObject %s kafka trigger lacks %s", n, k)
						}
					}
					if md["consumerGroup"] != "anomaly-classifier" || md["topic"] != "logs.raw" {
						t.Errorf("ScaledObject %s scales on group %q topic %q, want anomaly-classifier on logs.raw", n, md["consumerGroup"], md["topic"])
					}
					cm := r.configMaps[configMapNameFor(r, "anomaly-classifier", "KAFKA_BROKERS")]
					if cm != nil && cm.Data["KAFKA_BROKERS"] != md["bootstrapServers"] {
						t.Errorf("ScaledObject bootstrapServers %q differs from the classifier's KAFKA_BROKERS %q", md["bootstrapServers"], cm.Data["KAFKA_BROKERS"])
					}
				}
				if kafka != 1 {
					t.Errorf("ScaledObject %s has %d kafka triggers, want 1", n, kafka)
				}
			}
			if scaledDeployments["anomaly-classifier"] == "" {
				t.Error("nothing scales the anomaly-classifier")
			}
			if o == "prod" && len(r.scaled) == 0 {
				t.Error("prod: want the KEDA ScaledObject")
			}
			if o == "prod" && r.deployments["anomaly-classifier"].Spec.Replicas != nil && *r.deployments["anomaly-classifier"].Spec.Replicas < 2 {
				t.Error("prod: want at least 2 classifier replicas")
			}
		})
	}
}

// configMapNameFor returns the ConfigMap (of those the service's container takes) that
// holds key.
func configMapNameFor(r *rendered, service, key string) string {
	for _, ef := range r.deployments[service].Spec.Template.Spec.Containers[0].EnvFrom {
		if ef.ConfigMapRef != nil {
			if cm := r.configMaps[ef.ConfigMapRef.Name]; cm != nil {
				if _, ok := cm.Data[key]; ok {
					return cm.Name
				}
			}
		}
	}
	return ""
}

func deref(p *int32) any {
	if p == nil {
		return "unset"
	}
	return *p
}
