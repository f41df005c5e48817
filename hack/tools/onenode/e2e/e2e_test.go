package e2e

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// The simulator and the operator, as images imported into the node, and
// the project the simulator serves.
const (
	operatorImage  = "ghcr.io/hss-dev/imagescan-operator:e2e"
	simulatorImage = "ghcr.io/hss-dev/hss-simulator:e2e"
	accessKey      = "E2EACCESSKEY"
	secretKey      = "e2e-secret-key"
	projectID      = "e2e-project"
	region         = "ap-southeast-1"
	inventory      = 40
	// The IAM identity provider the simulator stands for, trusting the
	// cluster's ServiceAccount issuer, and the audience it expects.
	idpID       = "cluster-oidc"
	idpAudience = "hss-imagescan"
	issuer      = "https://kubernetes.default.svc.cluster.local"
)

// simulatorURL is where Pods reach the simulator: its Service.
var simulatorURL string

// The simulator runs as a Pod of its own image behind a Service, the
// closest to HSS a Pod can reach here (no cluster DNS: by ClusterIP).
// Its IAM identity provider is configured as a platform team configures
// IAM's: with the cluster's issuer and the signing key it publishes.
func TestTheSimulatorRunsAsAPodBehindAService(t *testing.T) {
	g := NewWithT(t)
	g.Expect(node.Import(artefact(t, "dist/image.tar"), operatorImage)).To(Succeed())
	g.Expect(node.Import(artefact(t, "dist/simulator.tar"), simulatorImage)).To(Succeed())
	jwks, err := cs.RESTClient().Get().AbsPath("/openid/v1/jwks").DoRaw(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: hss-simulator}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: identity-provider, namespace: hss-simulator}
data:
  jwks.json: '%s'
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: hss-simulator, namespace: hss-simulator}
spec:
  selector: {matchLabels: {app: hss-simulator}}
  template:
    metadata: {labels: {app: hss-simulator}}
    spec:
      containers:
      - name: simulator
        image: %s
        args: [--listen=0.0.0.0:8088, --ak=%s, --sk=%s, --project-id=%s, --images=%d, --seed=1,
               --queue-delay=2s, --scan-duration=20s, --failure-rate=0,
               --idp-id=%s, --idp-client-id=%s, --idp-url=%s, --idp-signing-key=/etc/identity-provider/jwks.json]
        ports: [{containerPort: 8088}]
        readinessProbe: {tcpSocket: {port: 8088}, periodSeconds: 2}
        securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
        volumeMounts: [{name: identity-provider, mountPath: /etc/identity-provider, readOnly: true}]
      volumes: [{name: identity-provider, configMap: {name: identity-provider}}]
---
apiVersion: v1
kind: Service
metadata: {name: hss-simulator, namespace: hss-simulator}
spec:
  selector: {app: hss-simulator}
  ports: [{port: 8088, targetPort: 8088}]
`, jwks, simulatorImage, accessKey, secretKey, projectID, inventory, idpID, idpAudience, issuer)
	file := filepath.Join(t.TempDir(), "simulator.yaml")
	g.Expect(os.WriteFile(file, []byte(manifest), 0o600)).To(Succeed())
	sh(t, "kubectl", "apply", "--server-side", "-f", file)
	available(t, "hss-simulator", "hss-simulator")
	svc, err := cs.CoreV1().Services("hss-simulator").Get(context.Background(), "hss-simulator", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	simulatorURL = fmt.Sprintf("http://%s:8088", svc.Spec.ClusterIP)
}

// install.yaml, applied as the README says, with the flags a platform
// team sets for the simulator.
func TestInstallYAML(t *testing.T) {
	g := NewWithT(t)
	g.Expect(simulatorURL).NotTo(BeEmpty(), "the simulator runs")
	const ns, deployment = "hss-imagescan-system", "hss-imagescan-controller-manager"
	mk(t, "installer", "IMG="+operatorImage, "INSTALL_PARTS=workload-identity", "MANAGER_ARGS=--hss-endpoint="+simulatorURL+
		" --hss-region="+region+" --hss-project-id="+projectID+" --default-credentials-secret="+ns+"/hss-credentials"+
		" --workload-identity --workload-identity-idp-id="+idpID+" --workload-identity-audience="+idpAudience+
		" --iam-endpoint="+simulatorURL)
	sh(t, "kubectl", "apply", "--server-side", "-f", "dist/install.yaml")
	sh(t, "kubectl", "create", "secret", "generic", "hss-credentials", "-n", ns,
		"--from-literal=accessKey="+accessKey, "--from-literal=secretKey="+secretKey)
	available(t, ns, deployment)

	tenant := namespace(t, "team-a")
	readyScan(t, tenant, "payments", "payments")
	events := eventReasons(t, tenant, "payments")
	g.Expect(events).To(ContainElements(scanv1.EventScanRequested, scanv1.EventScanCompleted))

	t.Run("metrics are served over HTTPS to a token bound to the metrics-reader role only", func(t *testing.T) {
		scrape(t, ns, "hss-imagescan-controller-manager-metrics-service", "hss-imagescan-metrics-reader")
	})

	t.Run("a tenant's ServiceAccount scans key-less, its token minted in the Pod under /tmp", func(t *testing.T) {
		g := NewWithT(t)
		_, err := cs.CoreV1().ServiceAccounts(tenant).Create(context.Background(),
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "scanner"}}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		readyScan(t, tenant, "keyless", "ops", func(s *scanv1.ImageScanSpec) { s.ServiceAccountName = "scanner" })
		subject := "system:serviceaccount:" + tenant + ":scanner"
		g.Expect(simulatorLog(t)).To(ContainSubstring("federated idp=" + idpID + " subject=" + subject))
		tokens := managerTokens(t, ns)
		g.Expect(tokens).To(HaveLen(1))
		for _, tok := range tokens {
			g.Expect(tok.mode).To(Equal(os.FileMode(0o600)))
			g.Expect(tok.uid).To(Equal(uint32(65532)), "written by the manager's user")
			g.Expect(tok.claims.Subject).To(Equal(subject))
			g.Expect(tok.claims.Audience).To(ConsistOf(idpAudience))
			g.Expect(tok.claims.Issuer).To(Equal(issuer))
		}
	})

	t.Run("a Pod deleted mid-round leaves its successor to finish the round without a second request", func(t *testing.T) {
		g := NewWithT(t)
		before := batchScans(t)
		create(t, tenant, "restart", "platform")
		g.Eventually(func(g Gomega) {
			g.Expect(get(t, tenant, "restart").Status.LastScanRequest).To(HaveField("AcceptedAt", Not(BeNil())))
		}, 2*time.Minute, time.Second).Should(Succeed())
		old := managerPod(t, ns)
		g.Expect(cs.CoreV1().Pods(ns).Delete(context.Background(), old, metav1.DeleteOptions{})).To(Succeed())
		g.Eventually(func() string { return managerPod(t, ns) }, 2*time.Minute, time.Second).ShouldNot(Or(Equal(old), BeEmpty()))
		available(t, ns, deployment)
		g.Expect(get(t, tenant, "restart").Status.LastScanRequest.CompletedAt).To(BeNil(), "the round was still running")
		waitReady(t, tenant, "restart")
		g.Expect(batchScans(t)).To(Equal(before+1), "one request for the round, by the first Pod")
	})

	t.Run("the garbage collector removes an ImageScan's reports with it", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(reports(t, tenant, "payments")).NotTo(BeEmpty())
		g.Expect(kc.Delete(context.Background(), get(t, tenant, "payments"))).To(Succeed())
		g.Eventually(func() []scanv1.ImageReport { return reports(t, tenant, "payments") }, 2*time.Minute, time.Second).Should(BeEmpty())
	})

	sh(t, "kubectl", "delete", "-f", "dist/install.yaml", "--wait=true", "--timeout=3m")
}

// The Helm chart, installed, upgraded and uninstalled as the README says.
func TestHelmChart(t *testing.T) {
	g := NewWithT(t)
	g.Expect(simulatorURL).NotTo(BeEmpty(), "the simulator runs")
	const ns, release = "hss-imagescan", "imagescan"
	deployment := release + "-imagescan-operator"
	sh(t, "helm", "install", release, "charts/imagescan-operator", "-n", ns, "--create-namespace",
		"--set", "image.repository="+strings.Split(operatorImage, ":")[0], "--set", "image.tag=e2e",
		"--set", "hss.region="+region, "--set", "hss.projectID="+projectID, "--set", "hss.endpoint="+simulatorURL,
		"--set", "hss.defaultCredentialsSecret=hss-credentials", "--set", "openreports.enabled=true")
	sh(t, "kubectl", "create", "secret", "generic", "hss-credentials", "-n", ns,
		"--from-literal=accessKey="+accessKey, "--from-literal=secretKey="+secretKey)
	available(t, ns, deployment)
	tenant := namespace(t, "team-b")
	readyScan(t, tenant, "storefront", "storefront")

	t.Run("metrics are served over HTTPS to a token bound to the metrics-reader role only", func(t *testing.T) {
		scrape(t, ns, deployment+"-metrics", deployment+"-metrics-reader")
	})

	t.Run("helm upgrade with a changed value rolls the manager out", func(t *testing.T) {
		g := NewWithT(t)
		old := managerPod(t, ns)
		sh(t, "helm", "upgrade", release, "charts/imagescan-operator", "-n", ns, "--reuse-values", "--set", "controller.maxPollInterval=1m")
		g.Eventually(func(g Gomega) {
			pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods.Items).To(HaveLen(1))
			g.Expect(pods.Items[0].Name).NotTo(Equal(old))
			g.Expect(pods.Items[0].Spec.Containers[0].Args).To(ContainElement("--max-poll-interval=1m"))
		}, 3*time.Minute, time.Second).Should(Succeed())
		available(t, ns, deployment)
		g.Expect(kc.Patch(context.Background(), get(t, tenant, "storefront"), client.RawPatch("application/merge-patch+json",
			[]byte(`{"spec":{"interval":"24h"}}`)))).To(Succeed()) // a new round at once, as a rescan request would wait 5m
		g.Eventually(func(g Gomega) {
			obj := get(t, tenant, "storefront")
			g.Expect(obj.Status.LastScanRequest.Round).To(Equal(int64(2)))
			g.Expect(apimeta.IsStatusConditionTrue(obj.Status.Conditions, scanv1.ConditionReady)).To(BeTrue())
		}, 3*time.Minute, time.Second).Should(Succeed())
	})

	t.Run("with openreports.enabled, Details are Reports that go with their ImageScan", func(t *testing.T) {
		g := NewWithT(t)
		readyScan(t, tenant, "findings", "storefront", func(s *scanv1.ImageScanSpec) {
			s.Vulnerabilities, s.MinSeverity = scanv1.VulnerabilitiesDetails, scanv1.SeverityLow
		})
		var reps openreports.ReportList
		g.Eventually(func(g Gomega) {
			g.Expect(kc.List(context.Background(), &reps, client.InNamespace(tenant), client.MatchingLabels{scanv1.LabelImageScan: "findings"})).To(Succeed())
			g.Expect(reps.Items).NotTo(BeEmpty())
		}, time.Minute, time.Second).Should(Succeed())
		for _, rep := range reps.Items {
			g.Expect(rep.Results).NotTo(BeEmpty(), rep.Name)
			g.Expect(metav1.GetControllerOf(&rep)).To(HaveField("Kind", "ImageReport"))
		}
		out := sh(t, "kubectl", "get", "reports", "-n", tenant, "-l", scanv1.LabelImageScan+"=findings", "-o", "name")
		g.Expect(strings.Count(out, "report.openreports.io/")).To(Equal(len(reps.Items)))

		g.Expect(kc.Delete(context.Background(), get(t, tenant, "findings"))).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(kc.List(context.Background(), &reps, client.InNamespace(tenant), client.MatchingLabels{scanv1.LabelImageScan: "findings"})).To(Succeed())
			g.Expect(reps.Items).To(BeEmpty(), "the garbage collector removes them with their ImageReports")
		}, 2*time.Minute, time.Second).Should(Succeed())
	})

	t.Run("helm uninstall keeps the CRDs and the ImageScans", func(t *testing.T) {
		g := NewWithT(t)
		sh(t, "helm", "uninstall", release, "-n", ns, "--wait", "--timeout", "3m")
		g.Expect(get(t, tenant, "storefront").Status.Summary.Succeeded).To(BeNumerically(">", 0))
		out := sh(t, "kubectl", "get", "crd", "imagescans.scan.hss.dev", "imagereports.scan.hss.dev", "-o", "name")
		g.Expect(out).To(ContainSubstring("imagescans.scan.hss.dev"))
		g.Expect(out).To(ContainSubstring("imagereports.scan.hss.dev"))
	})
}

// available waits for a Deployment's Pods to pass their readiness probes.
func available(t *testing.T, ns, name string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
		g.Expect(d.Status.UpdatedReplicas).To(Equal(*d.Spec.Replicas))
		g.Expect(d.Status.AvailableReplicas).To(Equal(*d.Spec.Replicas))
		g.Expect(d.Status.Replicas).To(Equal(*d.Spec.Replicas), "no old Pod left")
		g.Expect(condition(d, appsv1.DeploymentAvailable)).To(BeTrue())
	}, 3*time.Minute, time.Second).Should(Succeed(), "deployment %s/%s available", ns, name)
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func namespace(t *testing.T, name string) string {
	t.Helper()
	_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return name
}

func create(t *testing.T, ns, name, org string, edits ...func(*scanv1.ImageScanSpec)) {
	t.Helper()
	obj := &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: scanv1.ImageScanSpec{
		ImageType: scanv1.PrivateImage, Selector: &scanv1.ImageSelector{Namespace: org}}}
	for _, edit := range edits {
		edit(&obj.Spec)
	}
	NewWithT(t).Expect(kc.Create(context.Background(), obj)).To(Succeed())
}

func get(t *testing.T, ns, name string) *scanv1.ImageScan {
	t.Helper()
	obj := &scanv1.ImageScan{}
	NewWithT(t).Expect(kc.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
	return obj
}

func waitReady(t *testing.T, ns, name string) *scanv1.ImageScan {
	t.Helper()
	var obj *scanv1.ImageScan
	NewWithT(t).Eventually(func(g Gomega) {
		obj = get(t, ns, name)
		ready := apimeta.FindStatusCondition(obj.Status.Conditions, scanv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(apimeta.IsStatusConditionTrue(obj.Status.Conditions, scanv1.ConditionStalled)).To(BeFalse(), ready.Message)
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
	}, 4*time.Minute, time.Second).Should(Succeed(), "imagescan %s/%s Ready", ns, name)
	return obj
}

// readyScan scans an organisation of the simulator's inventory through a
// selector to Ready, and checks every image's statistics against the
// inventory, which the simulator generated from the same seed.
func readyScan(t *testing.T, ns, name, org string, edits ...func(*scanv1.ImageScanSpec)) {
	t.Helper()
	g := NewWithT(t)
	create(t, ns, name, org, edits...)
	obj := waitReady(t, ns, name)
	want := map[string]simulator.Image{}
	for _, img := range simulator.Generate(inventory, 1) {
		if img.Namespace == org && img.Type == simulator.TypePrivate {
			want[img.Namespace+"/"+img.Name+":"+img.Tag] = img
		}
	}
	got := reports(t, ns, name)
	g.Expect(got).To(HaveLen(len(want)))
	g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(len(want))))
	var size int64
	for _, rep := range got {
		img, ok := want[rep.Spec.Reference]
		g.Expect(ok).To(BeTrue(), rep.Spec.Reference)
		g.Expect(rep.Status.FilesCount).To(HaveValue(Equal(img.FilesNum)), rep.Spec.Reference)
		g.Expect(rep.Status.FilesSize).To(HaveValue(Equal(img.FilesSize)), rep.Spec.Reference)
		g.Expect(metav1.GetControllerOf(&rep)).To(HaveField("UID", obj.UID))
		size += img.FilesSize
	}
	g.Expect(obj.Status.Summary.TotalFileSize).To(Equal(size))
}

func reports(t *testing.T, ns, scan string) []scanv1.ImageReport {
	t.Helper()
	var list scanv1.ImageReportList
	NewWithT(t).Expect(kc.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{scanv1.LabelImageScan: scan})).To(Succeed())
	return list.Items
}

func eventReasons(t *testing.T, ns, name string) []string {
	t.Helper()
	events, err := cs.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "regarding.name=" + name})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var reasons []string
	for _, e := range events.Items {
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

func managerPod(t *testing.T, ns string) string {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			return p.Name
		}
	}
	return ""
}

// batchScans counts the scan requests the simulator accepted, from its log.
func batchScans(t *testing.T) int {
	t.Helper()
	return strings.Count(simulatorLog(t), "op=batch_scan status=200")
}

// simulatorLog is the simulator's log, one line per request.
func simulatorLog(t *testing.T) string {
	t.Helper()
	pods, err := cs.CoreV1().Pods("hss-simulator").List(context.Background(), metav1.ListOptions{})
	g := NewWithT(t)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pods.Items).To(HaveLen(1))
	log, err := cs.CoreV1().Pods("hss-simulator").GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{}).DoRaw(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	return string(log)
}

// token is a workload-identity token file the manager wrote.
type token struct {
	mode   os.FileMode
	uid    uint32
	claims struct {
		Subject  string   `json:"sub"`
		Issuer   string   `json:"iss"`
		Audience []string `json:"aud"`
	}
}

// managerTokens reads the token files in the manager container's /tmp,
// through the root of the container's processes as the node sees them:
// the emptyDir exists only in the container's mounts.
func managerTokens(t *testing.T, ns string) []token {
	t.Helper()
	g := NewWithT(t)
	pod, err := cs.CoreV1().Pods(ns).Get(context.Background(), managerPod(t, ns), metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	var tokens []token
	for _, pid := range node.PodProcesses(string(pod.UID)) {
		dir := fmt.Sprintf("/proc/%d/root/tmp/workload-identity", pid)
		files, err := os.ReadDir(dir)
		if err != nil {
			continue // the pause container, or an exited process
		}
		for _, f := range files {
			info, err := os.Stat(filepath.Join(dir, f.Name()))
			g.Expect(err).NotTo(HaveOccurred())
			data, err := os.ReadFile(filepath.Join(dir, f.Name()))
			g.Expect(err).NotTo(HaveOccurred())
			tok := token{mode: info.Mode().Perm(), uid: info.Sys().(*syscall.Stat_t).Uid}
			parts := strings.Split(string(data), ".")
			g.Expect(parts).To(HaveLen(3), "a JWT")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(json.Unmarshal(payload, &tok.claims)).To(Succeed())
			tokens = append(tokens, tok)
		}
		break
	}
	return tokens
}

// scrape reads the manager's metrics through its Service over HTTPS: with
// the token of a ServiceAccount bound to the metrics-reader role they are
// served, without a token refused, and with an unbound account's
// forbidden.
func scrape(t *testing.T, ns, service, role string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	for _, sa := range []string{"scraper", "stranger"} {
		_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
	}
	_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-scraper"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "scraper", Namespace: ns}},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	svc, err := cs.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	url := fmt.Sprintf("https://%s:%d/metrics", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
	// The manager serves metrics with a certificate of its own making.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: node.Dialer(), TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(sa string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if sa != "" {
			tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Authorization", "Bearer "+tr.Status.Token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	g.Eventually(func(g Gomega) {
		code, body := get("scraper")
		g.Expect(code).To(Equal(http.StatusOK), body)
		g.Expect(body).To(ContainSubstring("imagescan_ready{"))
		g.Expect(body).To(ContainSubstring("hss_requests_total{"))
	}, time.Minute, time.Second).Should(Succeed())
	code, _ := get("")
	g.Expect(code).To(Equal(http.StatusUnauthorized))
	code, _ = get("stranger")
	g.Expect(code).To(Equal(http.StatusForbidden))
}
